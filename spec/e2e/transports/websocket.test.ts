/**
 * The WebSocket transport (lib/transports/websocket.ts): upgrades, frames, close
 * codes, origin checks and session binding (docs/protocol.md §5.4, C88-C94).
 */
import t from 'tap'
import { HttpPeer, WsPeer, delay, startServer } from '../../helpers.ts'

t.test('upgrade and framing', async t => {
  const server = await startServer(t, { timeout: 500 })

  await t.test('C88 no subprotocol needed, on <path> and <path>/; C89 handshake binds the socket', async t => {
    for (const suffix of ['', '/']) {
      const peer = await WsPeer.open(server.url + suffix)
      const reply = await peer.handshake()
      t.match(reply, { successful: true, clientId: /^[0-9a-f]+$/ }, suffix || '(none)')
      peer.close()
    }
  })

  await t.test('a client offering a subprotocol still gets a socket (A23)', async t => {
    const peer = await WsPeer.open(server.url, { protocol: 'cometd' } as never)
    t.match(await peer.handshake(), { successful: true })
    peer.close()
  })

  await t.test('C91 C93 every message with an id is answered in an array frame', async t => {
    const peer = await WsPeer.open(server.url)
    await peer.connected()
    peer.socket.send(JSON.stringify([
      { id: 'x1', clientId: peer.clientId, channel: '/meta/subscribe', subscription: '/frames' },
      { id: 'x2', clientId: peer.clientId, channel: '/frames', data: 1 }
    ]))
    const frames = [await peer.next(), await peer.next()]
    t.ok(frames.every(Array.isArray))
    const all = frames.flat()
    t.match(all.find(m => m['id'] === 'x1'), { successful: true })
    t.match(all.find(m => m['id'] === 'x2'), { successful: true })
    t.match(all.find(m => 'data' in m), { channel: '/frames', data: 1 })
    peer.close()
  })

  await t.test('other paths are refused', async t => {
    await t.rejects(WsPeer.open(server.url.replace('/cometd', '/other')), /404/)
  })
})

t.test('bad frames close the socket, and only that socket', async t => {
  const server = await startServer(t, { timeout: 500, maxBodySize: 1024, maxMessagesPerBatch: 2 })
  const bystander = await WsPeer.open(server.url)
  await bystander.connected()
  bystander.send({ channel: '/meta/subscribe', subscription: '/still' })
  await bystander.until(m => m['channel'] === '/meta/subscribe')

  const cases: Array<[string, (peer: WsPeer) => void, number]> = [
    ['C94 a frame that is not JSON: 1007, invalid payload data', peer => peer.sendRaw('{nope'), 1007],
    ['an empty batch', peer => peer.sendRaw('[]'), 1007],
    ['a scalar', peer => peer.sendRaw('7'), 1007],
    ['more messages than maxMessagesPerBatch: 1008, a policy limit', peer => peer.sendRaw(JSON.stringify([{}, {}, {}])), 1008],
    ['a binary frame', peer => peer.socket.send(Buffer.from('[]')), 1003],
    ['C102 a frame over maxPayload', peer => peer.sendRaw(JSON.stringify([{ channel: '/x', data: 'z'.repeat(4096) }])), 1009]
  ]
  for (const [name, send, code] of cases) {
    const peer = await WsPeer.open(server.url)
    send(peer)
    t.equal((await peer.closed).code, code, name)
  }
  await server.bayeux.publish('/still', 'served')
  t.match(await bystander.until(m => 'data' in m), { data: 'served' }, 'the other client is still served')
  bystander.close()
})

t.test('origin allowlist on upgrades', async t => {
  const server = await startServer(t, { allowedOrigins: ['https://app.example'] })
  const allowed = await WsPeer.open(server.url, { origin: 'https://app.example' })
  t.match(await allowed.handshake(), { successful: true }, 'allowed origin')
  allowed.close()
  const noOrigin = await WsPeer.open(server.url)
  t.match(await noOrigin.handshake(), { successful: true }, 'non-browser clients send no Origin')
  noOrigin.close()
  await t.rejects(WsPeer.open(server.url, { origin: 'https://evil.example' }), /403/, 'cross-site WebSocket hijacking refused')
})

t.test('session binding', async t => {
  const server = await startServer(t, { timeout: 500 })

  await t.test('C90 a connect on a new socket resumes a session whose socket closed', async t => {
    const first = await WsPeer.open(server.url)
    await first.connected()
    first.close()
    await first.closed
    await delay(50)
    const second = await WsPeer.open(server.url)
    second.clientId = first.clientId
    const id = second.send({ channel: '/meta/connect', advice: { timeout: 0 } })
    t.match(await second.until(m => m['id'] === id), { successful: true })
    await server.bayeux.publish('/resumed', 1)
    second.close()
  })

  await t.test('a socket cannot take over a session whose socket is open', async t => {
    const owner = await WsPeer.open(server.url)
    await owner.connected()
    const thief = await WsPeer.open(server.url)
    thief.clientId = owner.clientId
    const id = thief.send({ channel: '/meta/subscribe', subscription: '/private' })
    t.match(await thief.until(m => m['id'] === id), { successful: false, error: '402::session_unknown' })
    owner.close()
    thief.close()
  })

  await t.test('an HTTP session moves to a WebSocket unless the upgrade carries another browser\'s cookie', async t => {
    const http = new HttpPeer(server.url)
    await http.connected()
    const other = await WsPeer.open(server.url, { headers: { cookie: 'BAYEUX_BROWSER=0123456789abcdef0123456789abcdef' } })
    other.clientId = http.clientId
    const refused = other.send({ channel: '/meta/connect', advice: { timeout: 0 } })
    t.match(await other.until(m => m['id'] === refused), { error: '402::session_unknown' }, 'another browser cookie')
    other.close()
    // Faye's Node client opens its socket before its handshake cookie arrives.
    const cookieless = await WsPeer.open(server.url)
    cookieless.clientId = http.clientId
    const accepted = cookieless.send({ channel: '/meta/connect', advice: { timeout: 0 } })
    t.match(await cookieless.until(m => m['id'] === accepted), { successful: true }, 'no cookie: the session moves to the socket')
    cookieless.close()
  })

  await t.test('requireHandshakePerConnection refuses resumption', async t => {
    const strict = await startServer(t, { requireHandshakePerConnection: true })
    const first = await WsPeer.open(strict.url)
    await first.connected()
    first.close()
    await first.closed
    const second = await WsPeer.open(strict.url)
    second.clientId = first.clientId
    const id = second.send({ channel: '/meta/connect', advice: { timeout: 0 } })
    t.match(await second.until(m => m['id'] === id), { error: '402::session_unknown' })
    second.close()
  })
})

t.test('a policy reads the upgrade\'s headers on every handshake its socket carries', async t => {
  const seen: Array<string | string[] | undefined> = []
  const server = await startServer(t, { policy: { canHandshake: (_session, _message, link) => { seen.push(link.headers['x-tenant']); return true } } })
  const peer = await WsPeer.open(server.url, { headers: { 'x-tenant': 'acme' } })
  await peer.handshake()
  await delay(50)
  await peer.handshake()
  t.same(seen, ['acme', 'acme'])
  peer.close()
})

t.test('events queued while no socket is bound are pushed once one is (C78)', async t => {
  const server = await startServer(t, { timeout: 500 })
  const first = await WsPeer.open(server.url)
  await first.connected()
  first.send({ channel: '/meta/subscribe', subscription: '/offline' })
  await first.until(m => m['channel'] === '/meta/subscribe')
  first.close()
  await first.closed
  await server.bayeux.publish('/offline', 'while away')
  const second = await WsPeer.open(server.url)
  second.clientId = first.clientId
  second.send({ channel: '/meta/connect', advice: { timeout: 0 } })
  t.match(await second.until(m => 'data' in m), { channel: '/offline', data: 'while away' })
  second.close()
})

t.test('a socket\'s replies keep the order of its payloads, also through an async outgoing extension (C01)', async t => {
  // The first payload's reply is held up in the extension; the second must not overtake it.
  const slowReplies = {
    async outgoing (_message: unknown, _session: unknown, request: { channel: string } | undefined) {
      if (request?.channel === '/slow') await delay(100)
    }
  }
  const server = await startServer(t, { timeout: 500, extensions: [slowReplies] })
  const peer = await WsPeer.open(server.url)
  await peer.connected()
  const slow = peer.send({ channel: '/slow', data: 1 })
  const fast = peer.send({ channel: '/fast', data: 2 })
  const order = [(await peer.until(m => m['id'] === slow || m['id'] === fast))['id'], (await peer.until(m => m['id'] === slow || m['id'] === fast))['id']]
  t.same(order, [slow, fast], 'replies come in the order the payloads were sent')
  peer.close()
})
