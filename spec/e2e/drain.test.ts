/**
 * Drain and shutdown (issue 12) end to end: bin/bayeux-server receiving SIGTERM or
 * SIGINT with held long-polling connects and open WebSockets, raw peers and the real
 * CometD client; then createServer's shutdown() and its option. The CLI runs dist/:
 * run `npm run build` first when running this file alone.
 */
import t from 'tap'
import type { Test } from 'tap'
import { createServer } from '../../lib/index.ts'
import { DRAIN_INTERVAL } from '../../lib/server/drain.ts'
import { HttpPeer, WsPeer, delay } from '../helpers.ts'
import type { Json } from '../helpers.ts'
import { serveCli } from '../support/cli-process.ts'
import type { CliProcess } from '../support/cli-process.ts'
import { Inbox, handshake, newClient, subscribe } from './clients/cometd.ts'
import type { Transport } from './clients/cometd.ts'

// Each test drains a server of its own, and waits on it (a process starting, clients told to
// come back after up to DRAIN_INTERVAL.max): all at once.
t.jobs = 8

/** Checks that `message` tells its client to come back after a pause drawn by a draining server. */
function advisesLater (t: Test, message: Json | undefined, reconnect: 'retry' | 'handshake', what: string): void {
  const interval = message?.['advice']?.interval
  t.equal(message?.['advice']?.reconnect, reconnect, `${what}: reconnect ${reconnect}`)
  t.ok(Number.isInteger(interval) && interval >= DRAIN_INTERVAL.min && interval <= DRAIN_INTERVAL.max, `${what}: interval ${interval} within ${DRAIN_INTERVAL.min} to ${DRAIN_INTERVAL.max}`)
}

/** A handshake over HTTP; returns its reply. */
async function handshakeReply (url: string): Promise<Json> {
  return await new HttpPeer(url).handshake()
}

/** Waits until the server refuses handshakes: it has taken the signal and drains. */
async function untilDraining (url: string): Promise<Json> {
  for (let i = 0; i < 1_000; i++) {
    const reply = await handshakeReply(url)
    if (!reply['successful']) return reply
    await delay(10)
  }
  throw new Error('the server never started draining')
}

/** The pino line logged with `msg`. */
function logged (server: CliProcess, msg: string): Json | undefined {
  return server.logs().find(line => line['msg'] === msg)
}

/** A raw WebSocket peer that handshook with the ack extension, and made its first connect. */
async function ackingSocket (url: string): Promise<WsPeer> {
  const peer = await WsPeer.open(url)
  peer.sendRaw(JSON.stringify([{ id: 'hello', channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['websocket'], ext: { ack: true } }]))
  const hello = await peer.until(m => m['id'] === 'hello')
  peer.clientId = hello['clientId']
  const first = peer.send({ channel: '/meta/connect', connectionType: 'websocket', advice: { timeout: 0 }, ext: { ack: -1 } })
  await peer.until(m => m['id'] === first)
  return peer
}

t.test('SIGTERM: held connects answered with retry advice, handshakes refused, a WebSocket gets its queued event then 1001, exit 0', async t => {
  const server = serveCli(t, ['--timeout', '600000', '--shutdown-timeout', '60000', '--log-level', 'info'])
  const url = await server.url

  const polling = new HttpPeer(url)
  await polling.connected()
  let answered = false
  const heldOverHttp = polling.send({ channel: '/meta/connect', connectionType: 'long-polling' }).finally(() => { answered = true })
  // A round trip on another connection, after the connect was sent, lets the server take it.
  await polling.send({ channel: '/meta/subscribe', subscription: '/elsewhere' })
  t.equal(answered, false, 'the long-polling connect is held (timeout 10 minutes)')

  const socket = await WsPeer.open(url)
  await socket.connected()
  const heldOverSocket = socket.send({ channel: '/meta/connect', connectionType: 'websocket' })
  const subscribed = socket.send({ channel: '/meta/subscribe', subscription: '/elsewhere' })
  await socket.until(m => m['id'] === subscribed)

  // With the ack extension, events wait in the session for the next connect (A25).
  const acking = await ackingSocket(url)
  const ackSubscribed = acking.send({ channel: '/meta/subscribe', subscription: '/news' })
  await acking.until(m => m['id'] === ackSubscribed)
  const publisher = new HttpPeer(url)
  await publisher.handshake()
  t.match(await publisher.send({ channel: '/news', data: 'queued' }), [{ channel: '/news', successful: true }], 'an event is queued for the acking socket')

  server.child.kill('SIGTERM')
  const [overHttp] = await heldOverHttp
  t.match(overHttp, { channel: '/meta/connect', successful: true }, 'the held long-polling connect is answered at once')
  advisesLater(t, overHttp, 'retry', 'its advice')
  const overSocket = await socket.until(m => m['id'] === heldOverSocket)
  t.match(overSocket, { channel: '/meta/connect', successful: true }, 'the held WebSocket connect too')
  advisesLater(t, overSocket, 'retry', 'its advice')
  t.equal((await socket.closed).code, 1001, 'then its socket is closed: going away')

  const refused = await handshakeReply(url)
  t.match(refused, { channel: '/meta/handshake', successful: false, error: '503::server_draining' }, 'a handshake meanwhile is refused: the server still answers')
  advisesLater(t, refused, 'handshake', 'its advice')

  const collect = acking.send({ channel: '/meta/connect', connectionType: 'websocket', ext: { ack: 1 } })
  const frame = await acking.next()
  t.match(frame, [{ channel: '/news', data: 'queued' }, { id: collect, channel: '/meta/connect', successful: true }], 'the acking socket gets its queued event, in the reply to its connect')
  advisesLater(t, frame[1], 'retry', 'that reply')
  t.equal((await acking.closed).code, 1001, 'then it is closed: going away')

  t.same(await server.exited, { code: 0, signal: null }, 'exit code 0')
  t.match(logged(server, 'drained'), { complete: true, undelivered: { events: 0, sessions: 0 } }, 'done before its timeout, with nothing lost')
  t.equal(server.logs().filter(line => line['level'] >= 40).length, 0, 'nothing logged at warn or above')
})

t.test('SIGINT: a long-polling session with queued events collects them before the process exits', async t => {
  const server = serveCli(t, ['--shutdown-timeout', '60000', '--log-level', 'info'])
  const url = await server.url
  const subscriber = new HttpPeer(url)
  await subscriber.connected()
  await subscriber.send({ channel: '/meta/subscribe', subscription: '/news' })
  const publisher = new HttpPeer(url)
  await publisher.handshake()
  await publisher.send({ channel: '/news', data: 'one' })
  await publisher.send({ channel: '/news', data: 'two' })

  server.child.kill('SIGINT')
  await untilDraining(url)
  t.equal(server.child.exitCode, null, 'still running: two events wait for their client')
  const answer = await subscriber.send({ channel: '/meta/connect', connectionType: 'long-polling' })
  t.match(answer, [{ channel: '/news', data: 'one' }, { channel: '/news', data: 'two' }, { channel: '/meta/connect', successful: true }], 'collected, in order, with a connect answered at once')
  advisesLater(t, answer[2], 'retry', 'the connect reply')
  t.same(await server.exited, { code: 0, signal: null }, 'then the process exits 0')
  t.match(logged(server, 'drained'), { complete: true, undelivered: { events: 0, sessions: 0 } })
})

t.test('--shutdown-timeout: events never collected are logged with their count, and the process exits 0 anyway', async t => {
  const server = serveCli(t, ['--shutdown-timeout', '300'])
  const url = await server.url
  const subscriber = new HttpPeer(url)
  await subscriber.connected()
  await subscriber.send({ channel: '/meta/subscribe', subscription: '/news' })
  const publisher = new HttpPeer(url)
  await publisher.handshake()
  for (const data of ['one', 'two', 'three']) await publisher.send({ channel: '/news', data })

  server.child.kill('SIGTERM')
  t.same(await server.exited, { code: 0, signal: null }, 'exit code 0 when the timeout cut the drain short')
  const warnings = server.logs().filter(line => line['level'] === 40)
  t.equal(warnings.length, 1, 'one warning')
  t.match(warnings[0], { events: 3, sessions: 1, msg: 'drain cut short: 3 queued events not delivered' })
})

t.test('a bad --shutdown-timeout is a usage error, before anything listens', async t => {
  const server = serveCli(t, ['--shutdown-timeout', '-1'])
  t.same(await server.exited, { code: 2, signal: null })
  t.match(server.stderr(), /--shutdown-timeout: not a whole number: "-1"/)
  await t.rejects(server.url, /exited before serving/)
})

const transports: Transport[] = ['long-polling', 'websocket']

for (const transport of transports) {
  t.test(`the real CometD client over ${transport} is sent away gently and keeps its events`, async t => {
    const server = serveCli(t, ['--timeout', '600000', '--shutdown-timeout', '60000', '--log-level', 'info'])
    const url = await server.url
    // A raw session with a queued event keeps the server draining until the end of the test.
    const anchor = new HttpPeer(url)
    await anchor.connected()
    await anchor.send({ channel: '/meta/subscribe', subscription: '/anchor' })
    const publisher = new HttpPeer(url)
    await publisher.handshake()
    await publisher.send({ channel: '/anchor', data: 'last' })

    const client = newClient(url, transport)
    const newcomer = newClient(url, transport)
    t.teardown(() => { client.disconnect(); newcomer.disconnect() })
    const connects: Json[] = []
    let drainAdvised!: () => void
    const advised = new Promise<void>(resolve => { drainAdvised = resolve })
    client.addListener('/meta/connect', (message: Json) => {
      connects.push(message)
      if (message['advice']?.reconnect === 'retry' && message['advice']?.interval >= DRAIN_INTERVAL.min) drainAdvised()
    })
    await handshake(client)
    const inbox = new Inbox()
    await subscribe(client, '/news', inbox.listener)

    server.child.kill('SIGTERM')
    await advised
    const told = connects.find(message => message['advice']?.interval >= DRAIN_INTERVAL.min)
    t.match(told, { successful: true }, 'its connect is answered')
    advisesLater(t, told, 'retry', 'and it is told to come back later')

    await t.rejects(handshake(newcomer), { message: '503::server_draining' }, 'a new client\'s handshake is refused')
    newcomer.disconnect()

    t.match(await publisher.send({ channel: '/news', data: 'during the drain' }), [{ successful: true }], 'a publish while draining')
    await inbox.waitFor(1)
    t.same(inbox.data, ['during the drain'], 'the client comes back after its pause and collects it')

    await anchor.send({ channel: '/meta/connect', connectionType: 'long-polling' })
    t.same(await server.exited, { code: 0, signal: null }, 'exit code 0 once everything is delivered')
    t.match(logged(server, 'drained'), { complete: true, undelivered: { events: 0, sessions: 0 } })
  })
}

t.test('createServer: shutdown() drains then closes; a bad shutdownTimeout is refused before listening', async t => {
  await t.rejects(createServer({ host: '127.0.0.1', port: 0, logger: false, shutdownTimeout: -5 }), { code: 'BAYEUX_ERR_INVALID_OPTIONS', message: /shutdownTimeout must be >= 0/ })
  const server = await createServer({ host: '127.0.0.1', port: 0, logger: false, timeout: 600_000, shutdownTimeout: 60_000 })
  t.teardown(() => server.close())
  const peer = new HttpPeer(server.url)
  await peer.connected()
  const held = peer.send({ channel: '/meta/connect', connectionType: 'long-polling' })
  await peer.send({ channel: '/meta/subscribe', subscription: '/x' })
  const shutdown = server.shutdown()
  t.equal(server.bayeux.draining, true, 'draining from the call on')
  advisesLater(t, (await held)[0], 'retry', 'the held connect')
  t.same(await shutdown, { complete: true, undelivered: { events: 0, sessions: 0 } })
  t.equal(server.fastify.server.listening, false, 'then closed')
})

t.test('a publish in progress on a WebSocket is answered before the socket\'s 1001 close', async t => {
  let grant!: (yes: boolean) => void
  let asked!: () => void
  const publishAsked = new Promise<void>(resolve => { asked = resolve })
  const canPublish = (): Promise<boolean> => new Promise(resolve => {
    grant = resolve
    asked()
  })
  const server = await createServer({ host: '127.0.0.1', port: 0, logger: false, policy: { canPublish } })
  t.teardown(() => server.close())
  const socket = await WsPeer.open(server.url)
  await socket.connected()
  const publishing = socket.send({ channel: '/slow', data: 1 })
  await publishAsked

  const shutdown = server.shutdown()
  await delay(200)
  t.equal(server.fastify.server.listening, true, 'still serving while the publish is in progress')
  grant(true)
  const reply = socket.until(m => m['id'] === publishing)
  t.equal((await socket.closed).code, 1001, 'the socket is closed')
  // Frames arrive before the close: an answer written before it has been read by now.
  t.match(await Promise.race([reply, 'no answer']), { channel: '/slow', successful: true }, 'after the publish was answered')
  t.same(await shutdown, { complete: true, undelivered: { events: 0, sessions: 0 } })
})
