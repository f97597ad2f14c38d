/**
 * Drain and shutdown in the core (lib/server/drain.ts, ServerCore.drain, Session.drain,
 * issue 12) without sockets: handshakes refused, held connects answered, new ones not
 * held, each told to come back after a random pause; queued events still delivered
 * (HTTP, WebSocket, backlog, ack) before the drain ends; its timeout and its result.
 */
import t from 'tap'
import type { Test } from 'tap'
import { BayeuxServer } from '../../lib/server/bayeux-server.ts'
import { DRAIN_INTERVAL, drainInterval } from '../../lib/server/drain.ts'
import type { Advice, Reply } from '../../lib/protocol/message.ts'
import { CoreHarness, flushed, keepingAlive } from '../support/core-harness.ts'
import { FakePushLink, FakeRequestLink, Responder } from '../support/fake-links.ts'

/** A pause a draining server advises: within DRAIN_INTERVAL, in whole ms. */
function isDrainPause (interval: unknown): boolean {
  return Number.isInteger(interval) && (interval as number) >= DRAIN_INTERVAL.min && (interval as number) <= DRAIN_INTERVAL.max
}

/** Checks `reply` carries the advice of a draining server: come back after a random pause. */
function advisesLater (t: Test, reply: Reply | undefined, reconnect: 'retry' | 'handshake', what: string): void {
  const advice = reply?.advice as Advice | undefined
  t.equal(advice?.reconnect, reconnect, `${what}: reconnect ${reconnect}`)
  t.ok(isDrainPause(advice?.interval), `${what}: interval ${String(advice?.interval)} within ${DRAIN_INTERVAL.min} to ${DRAIN_INTERVAL.max}`)
}

/** Sends a lone connect and checks that it is held. */
async function hold (t: Test, h: CoreHarness, link: FakeRequestLink | FakePushLink, clientId: string, extra = {}): Promise<Responder> {
  const { responder, done } = h.send(link, [h.connect(clientId, extra)])
  await done
  t.same(responder.answers, [], 'held')
  return responder
}

t.test('the pause is drawn at random between 0.5 and 3 s, bounds included', async t => {
  const draws = Array.from({ length: 500 }, drainInterval)
  t.ok(draws.every(isDrainPause), 'every draw within the bounds, in whole ms')
  t.ok(new Set(draws).size > 100, 'spread out, not one value')
  t.ok(Math.min(...draws) < 1_000 && Math.max(...draws) > 2_500, 'over the whole range')
})

t.test('a handshake while draining is refused with 503::server_draining and sent to handshake later, each after its own pause', async t => {
  const h = await CoreHarness.start(t, { timesync: false })
  await h.handshake(new FakeRequestLink())
  t.equal(h.core.registry.draining, false)
  const drained = h.core.drain(60_000)
  t.equal(h.core.registry.draining, true, 'draining from the call on')
  const intervals = []
  for (let i = 0; i < 10; i++) {
    const reply = await h.reply(new FakeRequestLink(), { id: `h${i}`, channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] })
    t.match(reply, { id: `h${i}`, channel: '/meta/handshake', successful: false, error: '503::server_draining' })
    t.notOk('clientId' in reply, 'no session')
    advisesLater(t, reply, 'handshake', `handshake ${i}`)
    intervals.push(reply.advice!.interval)
  }
  t.ok(new Set(intervals).size > 1, 'clients do not all come back after the same pause')
  t.equal(h.core.registry.size, 1, 'no session was made')
  t.same(await keepingAlive(drained), { complete: true, undelivered: { events: 0, sessions: 0 } })
})

t.test('held connects are answered at once, over HTTP and WebSocket, and told to retry after a pause', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  const request = new FakeRequestLink({ browserId: 'b' })
  const overHttp = await hold(t, h, request, await h.connected(request), { id: 'http' })
  const socket = new FakePushLink()
  const overSocket = await hold(t, h, socket, await h.connected(socket), { id: 'ws' })
  t.equal(h.core.registry.held, 2)

  const drained = h.core.drain(60_000)
  t.equal(overHttp.answers.length, 1, 'the HTTP connect is answered in the same tick')
  t.equal(overSocket.answers.length, 1, 'the WebSocket connect too')
  t.match(overHttp.answers[0], { events: [], replies: [{ id: 'http', channel: '/meta/connect', successful: true, advice: { timeout: 60_000 } }] })
  t.match(overSocket.answers[0], { events: [], replies: [{ id: 'ws', channel: '/meta/connect', successful: true, advice: { timeout: 60_000 } }] })
  advisesLater(t, overHttp.answers[0]!.replies[0], 'retry', 'HTTP')
  advisesLater(t, overSocket.answers[0]!.replies[0], 'retry', 'WebSocket')
  t.equal(h.core.registry.held, 0, 'no hold timer left')
  t.equal(request.closeListeners, 0, 'the request is no longer watched')
  t.equal(socket.endedAfter, 0, 'the WebSocket, with nothing left to write, is let go (closed 1001)')
  t.ok(socket.closed)
  t.same(await keepingAlive(drained), { complete: true, undelivered: { events: 0, sessions: 0 } })
})

t.test('connects arriving while draining are answered without holding, with retry advice; sessions stay', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  const request = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(request)
  const socket = new FakePushLink()
  const socketClient = await h.connected(socket)
  void h.core.drain(60_000)

  const answer = await h.ask(request, [h.connect(clientId, { id: 'lone' })])
  t.match(answer.replies, [{ id: 'lone', channel: '/meta/connect', successful: true }], 'a lone connect that would be held is answered')
  advisesLater(t, answer.replies[0], 'retry', 'HTTP')
  const again = await h.ask(request, [h.connect(clientId, { id: 'again', advice: { timeout: 30_000, interval: 0 } })])
  advisesLater(t, again.replies[0], 'retry', 'a connect that asked for advice of its own')
  t.equal(h.core.registry.held, 0, 'nothing held')

  const fresh = new FakePushLink()
  const onSocket = await h.ask(fresh, [h.connect(socketClient, { id: 'resumed' })])
  advisesLater(t, onSocket.replies[0], 'retry', 'a connect on a new WebSocket')
  t.equal(h.core.registry.size, 2, 'draining ends no session: another node (or this one restarted) may take them on')
  t.notOk(h.session(clientId).ended)
})

t.test('long polling: queued events wait for their client, who collects them with an unheld connect; then the drain ends', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  const request = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(request)
  const idle = new FakeRequestLink({ browserId: 'c' })
  await h.connected(idle)
  const session = h.session(clientId)
  session.deliver('/a', 1)
  session.deliver('/b', 2)
  await flushed()

  let result
  const drained = h.core.drain(60_000).then(outcome => { result = outcome })
  await keepingAlive(new Promise(resolve => setTimeout(resolve, 120)))
  t.equal(result, undefined, 'still draining after a few rounds: two events wait for their client')
  const answer = await h.ask(request, [h.connect(clientId, { id: 'collect' })])
  t.same(answer.events, [{ channel: '/a', data: 1 }, { channel: '/b', data: 2 }], 'the events, in order')
  advisesLater(t, answer.replies[0], 'retry', 'the connect that collected them')
  await keepingAlive(drained)
  t.same(result, { complete: true, undelivered: { events: 0, sessions: 0 } }, 'nothing left: the drain ends before its timeout')
  t.same(h.log.at('warn'), [], 'nothing to warn about')
})

t.test('a held long-polling connect takes the queued events with it', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  const request = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(request)
  const held = await hold(t, h, request, clientId, { id: 'held' })
  // Queued in this tick, flushed at its end: the drain comes first.
  h.session(clientId).deliver('/a', 1)
  const drained = h.core.drain(60_000)
  t.same(held.answers.map(answer => answer.events), [[{ channel: '/a', data: 1 }]], 'events and reply in one answer')
  advisesLater(t, held.answers[0]!.replies[0], 'retry', 'its reply')
  t.same(await keepingAlive(drained), { complete: true, undelivered: { events: 0, sessions: 0 } })
})

t.test('WebSocket: queued events of a backlogged socket go out once it drains, then the socket is let go', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  const socket = new FakePushLink()
  const clientId = await h.connected(socket)
  const held = await hold(t, h, socket, clientId, { id: 'held' })
  socket.backlogged = true
  h.session(clientId).deliver('/a', 1)
  h.session(clientId).deliver('/a', 2)
  await flushed()
  t.same(socket.pushes, [], 'waiting for the backlog')

  let result
  const drained = h.core.drain(60_000).then(outcome => { result = outcome })
  t.match(held.answers, [{ replies: [{ id: 'held' }] }], 'the held connect is answered at once')
  await keepingAlive(new Promise(resolve => setTimeout(resolve, 120)))
  t.equal(socket.endedAfter, undefined, 'not let go while events wait for it')
  t.equal(result, undefined, 'still draining')
  socket.drain()
  await keepingAlive(drained)
  t.same(socket.pushes, [[{ channel: '/a', data: 1 }, { channel: '/a', data: 2 }]], 'the queued events, in order')
  t.equal(socket.endedAfter, 1, 'then the socket is closed (1001)')
  t.same(result, { complete: true, undelivered: { events: 0, sessions: 0 } })
})

t.test('WebSocket with the ack extension: events travel in the connect reply, then the socket is let go', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  const socket = new FakePushLink()
  const clientId = await h.handshake(socket, { ext: { ack: true } })
  await h.ask(socket, [h.connect(clientId, { ext: { ack: -1 } })])
  h.session(clientId).deliver('/a', 1)
  await flushed()

  const drained = h.core.drain(60_000)
  t.equal(socket.endedAfter, undefined, 'kept open: an event waits for the next connect')
  const answer = await h.ask(socket, [h.connect(clientId, { id: 'c', ext: { ack: 1 } })])
  t.same(answer.events, [{ channel: '/a', data: 1 }])
  t.match(answer.replies, [{ id: 'c', successful: true, ext: { ack: 2 } }])
  advisesLater(t, answer.replies[0], 'retry', 'its reply')
  t.same(await keepingAlive(drained), { complete: true, undelivered: { events: 0, sessions: 0 } })
  t.equal(socket.endedAfter, 0, 'let go once nothing was left for it')
})

t.test('a publish in progress finishes, and is answered, before the drain ends', async t => {
  let grant: ((yes: boolean) => void) | undefined
  const canPublish = (): Promise<boolean> => new Promise(resolve => { grant = resolve })
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false, policy: { canPublish } })
  const subscriber = new FakeRequestLink({ browserId: 's' })
  const subscriberId = await h.connected(subscriber)
  await h.reply(subscriber, h.subscribe(subscriberId, '/slow'))
  const publisher = new FakePushLink()
  const publisherId = await h.connected(publisher)
  const publishing = h.send(publisher, [h.publish(publisherId, '/slow', 'late')])
  await flushed()

  let result
  const drained = h.core.drain(60_000).then(outcome => { result = outcome })
  await keepingAlive(new Promise(resolve => setTimeout(resolve, 120)))
  t.equal(result, undefined, 'waits for the publish')
  t.equal(h.session(subscriberId).queued, 0, 'whose event is not queued yet')
  grant!(true)
  await publishing.done
  t.match(publishing.responder.answers, [{ replies: [{ channel: '/slow', successful: true }] }], 'the publish is answered')
  const collected = await h.ask(subscriber, [h.connect(subscriberId)])
  t.same(collected.events, [{ channel: '/slow', data: 'late' }], 'and its event delivered to a long-polling subscriber')
  await keepingAlive(drained)
  t.same(result, { complete: true, undelivered: { events: 0, sessions: 0 } })
})

t.test('at its timeout the drain ends anyway, and what is still queued is logged with its count, once', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  for (const [browser, events] of [['a', 2], ['b', 1]] as const) {
    const clientId = await h.connected(new FakeRequestLink({ browserId: browser }))
    for (let i = 0; i < events; i++) h.session(clientId).deliver('/gone', i)
  }
  await h.connected(new FakeRequestLink({ browserId: 'c' }))
  await flushed()

  const result = await keepingAlive(h.core.drain(150))
  t.same(result, { complete: false, undelivered: { events: 3, sessions: 2 } })
  const warnings = h.log.at('warn')
  t.equal(warnings.length, 1, 'one line')
  t.match(warnings[0], { object: { events: 3, sessions: 2 }, message: /3 queued events not delivered/ })
  t.equal(h.core.registry.size, 3, 'sessions are left to close()')
})

t.test('a session whose answer fails is logged and does not stop the drain of the others', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  const broken = new FakeRequestLink({ browserId: 'a' })
  const brokenId = await h.connected(broken)
  await h.core.process([h.connect(brokenId)], broken, () => { throw new Error('cannot write') })
  const request = new FakeRequestLink({ browserId: 'b' })
  const held = await hold(t, h, request, await h.connected(request))

  const result = await keepingAlive(h.core.drain(60_000))
  t.equal(held.answers.length, 1, 'the other held connect is answered')
  t.same(result, { complete: true, undelivered: { events: 0, sessions: 0 } })
  t.match(h.log.at('error'), [{ object: { clientId: brokenId, err: { message: 'cannot write' } }, message: 'draining a session failed' }])
})

t.test('a second drain gets the first one\'s result; close() cuts a drain short', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  const clientId = await h.connected(new FakeRequestLink({ browserId: 'a' }))
  h.session(clientId).deliver('/a', 1)
  await flushed()
  const first = h.core.drain(60_000)
  t.equal(h.core.drain(0), first, 'the same drain')
  await h.core.close()
  t.same(await keepingAlive(first), { complete: false, undelivered: { events: 1, sessions: 1 } }, 'ended by close(), long before its timeout')
})

t.test('BayeuxServer: `draining` tells a readiness probe; drain() checks its timeout', async t => {
  const bayeux = new BayeuxServer({ timesync: false })
  await bayeux.start()
  t.teardown(() => bayeux.close())
  for (const bad of [-1, 1.5, Number.NaN, 3_600_001, '10' as unknown as number]) {
    await t.rejects(bayeux.drain(bad), { code: 'BAYEUX_ERR_INVALID_OPTIONS', message: /drain timeout/ }, `${String(bad)} is refused`)
  }
  t.equal(bayeux.draining, false, 'a refused drain does not start')
  const drained = bayeux.drain(0)
  t.equal(bayeux.draining, true)
  t.same(await keepingAlive(drained), { complete: true, undelivered: { events: 0, sessions: 0 } })
  t.equal(bayeux.draining, true, 'still draining until closed')
})

t.test('BayeuxServer.drain() defaults to the shutdownTimeout default', async t => {
  const bayeux = new BayeuxServer({ timesync: false })
  await bayeux.start()
  t.teardown(() => bayeux.close())
  t.same(await keepingAlive(bayeux.drain()), { complete: true, undelivered: { events: 0, sessions: 0 } })
})
