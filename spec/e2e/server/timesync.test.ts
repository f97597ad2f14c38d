/** The timesync extension (lib/server/timesync.ts, docs/protocol.md §6.3, C98). */
import t from 'tap'
import { HttpPeer, startServer } from '../../helpers.ts'

t.test('C98 meta replies carry ext.timesync when the client estimate is poor', async t => {
  const server = await startServer(t, { timeout: 300 })
  const peer = new HttpPeer(server.url)
  const tc = Date.now()
  const hello = await peer.handshake({ ext: { timesync: { tc, l: 0, o: 0 } } })
  const sync = hello['ext']?.['timesync']
  t.match(sync, { tc, ts: Number, p: Number, a: Number }, 'l == 0: the server answers')
  t.ok(sync.ts >= tc - 60_000 && sync.p >= 0, 'plausible server time and processing time')

  const [good] = await peer.send({ channel: '/meta/subscribe', subscription: '/x', ext: { timesync: { tc: sync.ts, l: 1, o: 0 } } })
  t.match(good, { successful: true })
  const legacy = (await peer.send({ channel: '/meta/subscribe', subscription: '/y', ext: { timesync: { tc } } }))[0]!
  t.match(legacy['ext']?.['timesync'], { tc, ts: Number, p: Number }, 'old-style requests without l always get tc, ts, p')
  const plain = (await peer.send({ channel: '/meta/subscribe', subscription: '/z' }))[0]!
  t.notOk(plain['ext'], 'no timesync without the client asking')
  const published = (await peer.send({ channel: '/p', data: 1, ext: { timesync: { tc, l: 0, o: 0 } } }))[0]!
  t.notOk(published['ext'], 'only meta messages are synced')
})

t.test('the extension can be turned off', async t => {
  const server = await startServer(t, { timesync: false })
  const hello = await new HttpPeer(server.url).handshake({ ext: { timesync: { tc: Date.now(), l: 0, o: 0 } } })
  t.notOk(hello['ext'])
})

t.test('C99 unknown ext keys never cause an error', async t => {
  const server = await startServer(t, { timeout: 300 })
  const peer = new HttpPeer(server.url)
  await peer.connected({ ext: { whatever: { deep: [1] }, 'x-app': 'y' } })
  t.match((await peer.send({ channel: '/z', data: 1, ext: { reload: true, binary: {} } }))[0], { successful: true })
})
