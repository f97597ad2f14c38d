/**
 * Sessions (lib/server/session.ts): connect holding, queueing, expiry, the ack
 * extension and bounded queues, over raw HTTP and raw WebSocket (docs/protocol.md §3.2,
 * §5.5-§5.8, §6.2).
 */
import t from 'tap'
import { HttpPeer, WsPeer, delay, expireSession, startServer } from '../../helpers.ts'
import type { Json } from '../../helpers.ts'

const connect = (peer: HttpPeer, extra: Json = {}): Promise<Json[]> =>
  peer.send({ channel: '/meta/connect', connectionType: 'long-polling', ...extra })

/** Waits (bounded) until `condition` holds. */
async function eventually (condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await delay(25)
  if (!condition()) throw new Error(`never happened: ${what}`)
}

t.test('connect holding over HTTP', async t => {
  const server = await startServer(t, { timeout: 400 })
  const peer = new HttpPeer(server.url)
  await peer.handshake()

  await t.test('C28 the first connect is answered at once, C29 advice when asked', async t => {
    const [reply] = await connect(peer, { advice: { timeout: 0 } })
    t.match(reply, { successful: true, advice: { reconnect: 'retry', interval: 0, timeout: 400 } }, 'the server hold time, not the cycle\'s 0')
  })

  await t.test('C30 a later connect is held, then answered without advice', async t => {
    const started = Date.now()
    const [reply] = await connect(peer)
    t.ok(Date.now() - started >= 395, 'not answered before the timeout')
    t.same(Object.keys(reply!).sort(), ['channel', 'id', 'successful'])
  })

  await t.test('C27 advice.timeout 0 is answered at once; C40 client advice is clamped', async t => {
    t.match((await connect(peer, { advice: { timeout: 0, interval: 999_999 } }))[0], { advice: { timeout: 400, interval: 0 } }, 'the reply advertises the server values')
    const started = Date.now()
    const [reply] = await connect(peer, { advice: { timeout: 3_600_000 } })
    t.match(reply, { advice: { timeout: 400 } }, 'timeout capped at the server maximum')
    t.ok(Date.now() - started < 3_600_000, 'held no longer than the server maximum')
  })

  await t.test('C33 an event releases the held connect with the event first (C83)', async t => {
    const other = new HttpPeer(server.url)
    await other.connected()
    await peer.send({ channel: '/meta/subscribe', subscription: '/wake' })
    const held = connect(peer)
    await delay(50)
    await other.send({ channel: '/wake', data: 'up' })
    const answer = await held
    t.match(answer, [{ channel: '/wake', data: 'up' }, { channel: '/meta/connect', successful: true }])
  })

  await t.test('C32 C78 events queued between connects come with the next connect, at once', async t => {
    const other = new HttpPeer(server.url)
    await other.connected()
    await other.send({ channel: '/wake', data: 1 })
    await other.send({ channel: '/wake', data: 2 })
    const answer = await connect(peer)
    t.same(answer.filter(m => 'data' in m).map(m => m['data']), [1, 2])
  })

  await t.test('C34 a newer connect answers the held one', async t => {
    const first = connect(peer)
    await delay(50)
    const second = connect(peer)
    const [old] = await first
    t.match(old, { channel: '/meta/connect', successful: true })
    await second
  })

  await t.test('C39 a connect batched with other messages is not held', async t => {
    const answer = await peer.post([
      { id: 'b1', clientId: peer.clientId, channel: '/meta/connect', connectionType: 'long-polling' },
      { id: 'b2', clientId: peer.clientId, channel: '/batched', data: 1 }
    ])
    t.match(answer.messages, [{ id: 'b1', successful: true }, { id: 'b2', successful: true }])
  })

  await t.test('C36 C72 disconnect releases the held connect with reconnect none', async t => {
    const held = connect(peer)
    await delay(50)
    const [bye] = await peer.send({ channel: '/meta/disconnect' })
    t.match(bye, { successful: true })
    t.match((await held)[0], { successful: true, advice: { reconnect: 'none' } })
  })
})

t.test('C27 a connect with advice.timeout 0 is not held, however long the server holds', async t => {
  const server = await startServer(t, { timeout: 30_000 })
  const peer = new HttpPeer(server.url)
  await peer.connected()
  const answered = connect(peer, { advice: { timeout: 0 } }).then(() => 'answered')
  // Cleared once answered: a pending timer would keep the test process alive for 15 s.
  let timer: NodeJS.Timeout | undefined
  const held = new Promise<string>(resolve => { timer = setTimeout(resolve, 15_000, 'held') })
  t.equal(await Promise.race([answered, held]), 'answered')
  clearTimeout(timer)
})

t.test('C38 a second session of one browser degrades to polling', async t => {
  const server = await startServer(t, { timeout: 2000 })
  const first = new HttpPeer(server.url)
  await first.connected()
  const second = new HttpPeer(server.url)
  second.cookie = first.cookie
  await second.connected()
  const held = connect(first)
  await delay(50)
  const [reply] = await connect(second)
  t.match(reply, { successful: true, advice: { 'multiple-clients': true, reconnect: 'retry', interval: 2000 } })
  await first.send({ channel: '/meta/disconnect' })
  await held
})

t.test('a connect held when its session is lost sends the client back to handshake', async t => {
  const server = await startServer(t, { timeout: 2000 })
  const peer = new HttpPeer(server.url)
  await peer.connected()
  const held = connect(peer)
  await delay(50)
  expireSession(server.bayeux, peer.clientId!)
  t.match((await held)[0], { successful: false, error: '402::session_unknown', advice: { reconnect: 'handshake', interval: 0 } })
})

t.test('C74 a server-side disconnect tells the client', async t => {
  const server = await startServer(t, { timeout: 2000 })
  const peer = new HttpPeer(server.url)
  await peer.connected()
  const held = connect(peer)
  await delay(50)
  server.bayeux.getSession(peer.clientId!)!.disconnect()
  const answer = await held
  t.match(answer, [{ channel: '/meta/disconnect', successful: true }, { channel: '/meta/connect', successful: true, advice: { reconnect: 'none' } }])
  t.notOk('id' in answer[0]!, 'the unsolicited disconnect has no id')
})

t.test('expiry', async t => {
  const server = await startServer(t, { timeout: 600, maxInterval: 300 })

  await t.test('C75 a session without connects expires; C26 its next connect is told to handshake', async t => {
    const peer = new HttpPeer(server.url)
    await peer.connected()
    await eventually(() => server.bayeux.getSession(peer.clientId!) === undefined, 'expiry')
    t.match((await connect(peer))[0], { error: '402::session_unknown', advice: { reconnect: 'handshake' } })
  })

  await t.test('C40 a client advice.interval is capped at maxInterval, so it cannot keep a dead session', async t => {
    const peer = new HttpPeer(server.url)
    await peer.handshake()
    await connect(peer, { advice: { timeout: 0, interval: 3_600_000 } })
    await eventually(() => server.bayeux.getSession(peer.clientId!) === undefined, 'expiry within interval + maxInterval, capped')
    t.pass('expired')
  })

  await t.test('C76 never expired while a connect is held', async t => {
    const peer = new HttpPeer(server.url)
    await peer.connected()
    const held = connect(peer)
    await delay(450)
    t.ok(server.bayeux.getSession(peer.clientId!), 'alive past maxInterval while held')
    await held
  })

  await t.test('expired sessions lose their subscriptions', async t => {
    const listener = new HttpPeer(server.url)
    await listener.connected()
    await listener.send({ channel: '/meta/subscribe', subscription: '/expiring' })
    const reasons: string[] = []
    server.bayeux.on('disconnect', (session, reason) => { if (session.id === listener.clientId) reasons.push(reason) })
    await eventually(() => reasons.length > 0, 'expiry event')
    t.same(reasons, ['expired'])
  })
})

t.test('ack extension over HTTP (C96, C97)', async t => {
  const server = await startServer(t, { timeout: 400 })
  const subscriber = new HttpPeer(server.url)
  const publisher = new HttpPeer(server.url)
  await subscriber.handshake({ ext: { ack: true } })
  await publisher.connected()
  t.match((await connect(subscriber, { advice: { timeout: 0 }, ext: { ack: 0 } }))[0], { ext: { ack: 1 } })
  await subscriber.send({ channel: '/meta/subscribe', subscription: '/acked' })
  await publisher.send({ channel: '/acked', data: 'a' })
  const first = await connect(subscriber, { ext: { ack: 1 } })
  t.same(first.map(m => m['data'] ?? m['ext']), ['a', { ack: 2 }], 'event with batch 2')
  await publisher.send({ channel: '/acked', data: 'b' })
  // The client never got batch 2 (say its response was lost): it acks 1 again.
  const again = await connect(subscriber, { ext: { ack: 1 } })
  t.same(again.map(m => m['data'] ?? m['ext']), ['a', 'b', { ack: 3 }], 'the unacked event is re-sent first, in order, at once')
  const started = Date.now()
  const done = await connect(subscriber, { ext: { ack: 3 } })
  t.same(done.map(m => m['data'] ?? m['ext']), [{ ack: 4 }], 'nothing re-sent once acknowledged')
  t.ok(Date.now() - started >= 395, 'and the connect is held again')
})

t.test('bounded queues', async t => {
  await t.test('disconnect strategy ends the session of a client that stops reading', async t => {
    const server = await startServer(t, { timeout: 2000, maxQueue: 5 })
    const idle = new HttpPeer(server.url)
    const publisher = new HttpPeer(server.url)
    await idle.connected()
    await publisher.connected()
    await idle.send({ channel: '/meta/subscribe', subscription: '/busy' })
    const ended: string[] = []
    server.bayeux.on('disconnect', (_s, reason) => ended.push(reason))
    for (let i = 0; i < 6; i++) await publisher.send({ channel: '/busy', data: i })
    t.same(ended, ['overflow'])
    t.match((await connect(idle))[0], { error: '402::session_unknown', advice: { reconnect: 'handshake' } })
  })

  await t.test('drop-oldest keeps the newest events and reports the drop', async t => {
    const server = await startServer(t, { timeout: 2000, maxQueue: 3, queueOverflow: 'drop-oldest' })
    const idle = new HttpPeer(server.url)
    const publisher = new HttpPeer(server.url)
    await idle.connected()
    await publisher.connected()
    await idle.send({ channel: '/meta/subscribe', subscription: '/busy' })
    let dropped = 0
    server.bayeux.on('overflow', (_s, n) => { dropped += n })
    for (let i = 0; i < 6; i++) await publisher.send({ channel: '/busy', data: i })
    t.equal(dropped, 3)
    t.same((await connect(idle)).filter(m => 'data' in m).map(m => m['data']), [3, 4, 5])
  })

  await t.test('a WebSocket subscriber that stops reading does not grow server memory', async t => {
    const server = await startServer(t, { timeout: 2000, maxQueueBytes: 4 * 1024 * 1024, websocketHighWaterMark: 256 * 1024 })
    const stalled = await WsPeer.open(server.url)
    await stalled.connected()
    stalled.send({ channel: '/meta/subscribe', subscription: '/firehose' })
    await stalled.until(m => m['channel'] === '/meta/subscribe')
    // Stop reading: the kernel buffers fill, then ws buffers, then the session queue.
    const raw = (stalled.socket as unknown as { _socket: { pause (): void } })._socket
    raw.pause()
    const ended: string[] = []
    server.bayeux.on('disconnect', (_s, reason) => ended.push(reason))
    const chunk = 'x'.repeat(64 * 1024)
    for (let i = 0; i < 400 && ended.length === 0; i++) {
      await server.bayeux.publish('/firehose', { i, chunk })
      await delay(1)
    }
    t.same(ended, ['overflow'], 'the session was ended at its byte bound instead of buffering 25 MiB')
    stalled.socket.terminate()
  })
})

t.test('WebSocket: events are pushed while the connect stays held (C92)', async t => {
  const server = await startServer(t, { timeout: 1000 })
  const peer = await WsPeer.open(server.url)
  await peer.connected()
  peer.send({ channel: '/meta/subscribe', subscription: '/push' })
  await peer.until(m => m['channel'] === '/meta/subscribe')
  const heldId = peer.send({ channel: '/meta/connect', connectionType: 'websocket' })
  await delay(50)
  await server.bayeux.publish('/push', 'now')
  const frame = await peer.next()
  t.same(frame, [{ channel: '/push', data: 'now' }], 'pushed alone, the connect still held')
  const reply = await peer.until(m => m['id'] === heldId)
  t.match(reply, { successful: true })
  peer.close()
})

t.test('WebSocket with acks: events only in connect replies', async t => {
  const server = await startServer(t, { timeout: 1000 })
  const peer = await WsPeer.open(server.url)
  peer.socket.send(JSON.stringify([{ id: '1', channel: '/meta/handshake', version: '1.0', ext: { ack: true } }]))
  peer.clientId = (await peer.until(m => m['channel'] === '/meta/handshake'))['clientId']
  peer.send({ channel: '/meta/connect', advice: { timeout: 0 }, ext: { ack: 0 } })
  await peer.until(m => m['channel'] === '/meta/connect')
  peer.send({ channel: '/meta/subscribe', subscription: '/ordered' })
  await peer.until(m => m['channel'] === '/meta/subscribe')
  const heldId = peer.send({ channel: '/meta/connect', ext: { ack: 1 } })
  await delay(50)
  await server.bayeux.publish('/ordered', 'x')
  const frame = await peer.next()
  t.match(frame, [{ channel: '/ordered', data: 'x' }, { id: heldId, channel: '/meta/connect', ext: { ack: 2 } }])
  peer.close()
})
