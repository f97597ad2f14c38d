/** diagnostics_channel events (lib/diagnostics.ts). */
import t from 'tap'
import diagnosticsChannel from 'node:diagnostics_channel'
import { HttpPeer, startServer } from '../helpers.ts'

t.test('session, publish and bad-input events reach subscribers', async t => {
  const seen: Array<[string, any]> = []
  const names = ['bayeux-server:session:create', 'bayeux-server:session:destroy', 'bayeux-server:publish', 'bayeux-server:bad-input']
  const listeners = names.map(name => {
    const listener = (message: unknown): void => { seen.push([name, message]) }
    diagnosticsChannel.subscribe(name, listener)
    return () => diagnosticsChannel.unsubscribe(name, listener)
  })
  t.teardown(() => listeners.forEach(unsubscribe => unsubscribe()))

  const server = await startServer(t, { timeout: 300 })
  const peer = new HttpPeer(server.url)
  await peer.connected()
  await peer.send({ channel: '/watched', data: 1 })
  await peer.post('not json')
  await peer.send({ channel: '/meta/disconnect' })

  t.same(seen.map(([name]) => name), names.slice(0, 1).concat(['bayeux-server:publish', 'bayeux-server:bad-input', 'bayeux-server:session:destroy']))
  t.equal(seen[0]![1].session.id, peer.clientId)
  t.match(seen[1]![1], { message: { channel: '/watched', data: 1 } })
  t.match(seen[2]![1], { transport: 'long-polling', reason: 'not_json', message: 'payload is not JSON' })
  t.match(seen[3]![1], { reason: 'client' })
})
