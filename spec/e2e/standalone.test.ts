/**
 * createServer (lib/standalone.ts): the URL it reports, close(), the logger it is
 * given, and invalid options refused with BAYEUX_ERR_INVALID_OPTIONS.
 */
import t from 'tap'
import { request } from 'undici'
import { createServer } from '../../lib/index.ts'
import type { ServerOptions } from '../../lib/index.ts'
import { HttpPeer, RecordingLogger, WsPeer, startServer } from '../helpers.ts'

/** The port the server really listens on. */
function portOf (server: Awaited<ReturnType<typeof createServer>>): number {
  const address = server.fastify.server.address()
  return typeof address === 'object' && address !== null ? address.port : -1
}

t.test('url names the host, the bound port and the path', async t => {
  const server = await startServer(t)
  t.equal(server.url, `http://127.0.0.1:${portOf(server)}/cometd`, 'port 0 is reported as the port picked')
  t.match(await new HttpPeer(server.url).handshake(), { successful: true }, 'and it answers there')

  const custom = await startServer(t, { path: '/bayeux' })
  t.equal(custom.url, `http://127.0.0.1:${portOf(custom)}/bayeux`)
  t.match(await new HttpPeer(custom.url).handshake(), { successful: true })
})

t.test('an IPv6 host is bracketed in the url', async t => {
  let server
  try {
    server = await startServer(t, { host: '::1' })
  } catch (error) {
    t.skip(`no IPv6 loopback here: ${(error as Error).message}`, () => {})
    return
  }
  t.equal(server.url, `http://[::1]:${portOf(server)}/cometd`)
  t.match(await new HttpPeer(server.url).handshake(), { successful: true })
})

t.test('close() answers held connects, closes sockets and stops listening', async t => {
  const server = await createServer({ host: '127.0.0.1', port: 0, logger: false, timeout: 600_000 })
  const peer = new HttpPeer(server.url)
  await peer.connected()
  const socket = await WsPeer.open(server.url)
  await socket.connected()
  const wsHeld = socket.send({ channel: '/meta/connect', connectionType: 'websocket' })
  const held = peer.send({ channel: '/meta/connect', connectionType: 'long-polling' })
  // A round trip on another connection lets the server take the connect first.
  await peer.send({ channel: '/meta/subscribe', subscription: '/closing' })

  await server.close()
  t.match(await held, [{ channel: '/meta/connect', successful: true }], 'the held HTTP connect is answered (timeout was 10 minutes)')
  t.match(await socket.until(m => m['id'] === wsHeld), { channel: '/meta/connect', successful: true }, 'so is the held WebSocket connect')
  t.equal((await socket.closed).code, 1001, 'the socket is closed as going away')
  await t.rejects(request(server.url, { method: 'POST', body: '[]' }), { code: 'ECONNREFUSED' }, 'nothing listens any more')
  await t.resolves(server.close(), 'a second close() is harmless')
})

t.test('the given logger gets bad input once, at warn', async t => {
  const logger = new RecordingLogger()
  const server = await startServer(t, { logger: logger as never })
  const answer = await new HttpPeer(server.url).post('{not json')
  t.equal(answer.status, 400)
  const lines = logger.lines.filter(line => line.level !== 'info')
  t.equal(lines.length, 1, 'one line above info')
  t.match(lines[0], { level: 'warn', object: { transport: 'long-polling' } }, 'at warn, naming the transport')
})

t.test('invalid options throw BAYEUX_ERR_INVALID_OPTIONS before anything listens', async t => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['negative timeout', { timeout: -1 }, /timeout must be >= 0/],
    ['timeout not an integer', { timeout: 1.5 }, /timeout must be integer/],
    ['zero maxInterval', { maxInterval: 0 }, /maxInterval must be >= 1/],
    ['path without a leading slash', { path: 'cometd' }, /path must match pattern/],
    ['no transports', { transports: [] }, /transports must NOT have fewer than 1 items/],
    ['unknown transport', { transports: ['flash'] }, /transports item 0 must be one of websocket, long-polling, callback-polling/],
    ['unknown option', { timeoutt: 5 }, /timeoutt is not an option/]
  ]
  for (const [name, options, message] of cases) {
    await t.rejects(createServer({ host: '127.0.0.1', port: 0, logger: false, ...options } as ServerOptions), { name: 'BayeuxServerError', code: 'BAYEUX_ERR_INVALID_OPTIONS', message }, name)
  }
})
