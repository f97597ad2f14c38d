/**
 * Held connects (lib/server/session.ts, docs/protocol.md §3.2, §5.5-§5.8) without sockets:
 * when a connect is held, what releases it, where events go meanwhile (connect reply or
 * push), the ack extension, the per-browser limit, backlog, and session ends.
 */
import { once } from 'node:events'
import t from 'tap'
import type { Test } from 'tap'
import type { Session } from '../../lib/server/session.ts'
import { CoreHarness, flushed, keepingAlive } from '../support/core-harness.ts'
import { FakePushLink, FakeRequestLink, Responder } from '../support/fake-links.ts'
import type { Answer } from '../support/fake-links.ts'

/** Records the delays `session`'s clock is set to: `holds` while a connect is held, `expiries` otherwise. */
function clockOf (h: CoreHarness, session: Session): { holds: number[], expiries: number[] } {
  const holds: number[] = []
  const expiries: number[] = []
  const wheel = h.core.registry.clocks
  const schedule = wheel.schedule.bind(wheel)
  wheel.schedule = (timer, delay) => {
    if (timer.item === session) (session.held ? holds : expiries).push(delay)
    schedule(timer, delay)
  }
  return { holds, expiries }
}

/** Sends a lone connect and checks that it is held: its processing ended without an answer. */
async function hold (t: Test, h: CoreHarness, link: FakeRequestLink | FakePushLink, clientId: string, extra = {}): Promise<Responder> {
  const { responder, done } = h.send(link, [h.connect(clientId, extra)])
  await done
  t.same(responder.answers, [], 'held')
  return responder
}

t.test('C28 C39 C30 only a lone connect of a session that already connected is held, until its timeout', async t => {
  const h = await CoreHarness.start(t, { timeout: 100, timesync: false })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.handshake(link)
  t.same(await h.reply(link, { ...h.connect(clientId), id: 'first' }), { id: 'first', channel: '/meta/connect', successful: true }, 'C28 the first connect is answered at once')
  const batched = await h.ask(link, [h.connect(clientId, { id: 'batched' }), h.publish(clientId, '/a', 1)])
  t.match(batched.replies, [{ id: 'batched', successful: true }, { successful: true }], 'C39 batched: answered at once')
  t.match(await h.reply(link, h.connect(clientId, { advice: { timeout: 0 } })), { successful: true }, 'C27 advice.timeout 0: answered at once')

  const held = await hold(t, h, link, clientId, { id: 'lone' })
  t.equal(h.core.registry.held, 1)
  t.same(await keepingAlive(held.answered), { events: [], replies: [{ id: 'lone', channel: '/meta/connect', successful: true }] }, 'C30 answered at its timeout, without advice')
  t.equal(h.core.registry.held, 0)
})

t.test('C40 C29 a client\'s advice overrides the server\'s for one cycle, within the server\'s bounds', async t => {
  const h = await CoreHarness.start(t, { timeout: 200, interval: 0, maxInterval: 1_000, timesync: false })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(link)
  const session = h.session(clientId)
  const { holds, expiries } = clockOf(h, session)

  const long = await hold(t, h, link, clientId, { advice: { timeout: 3_600_000, interval: 999_999 } })
  t.same(holds, [200], 'a timeout beyond the server\'s is capped at it')
  session.deliver('/wake', 1)
  const answer = await long.answered
  t.same(answer.replies[0]!.advice, { reconnect: 'retry', interval: 0, timeout: 200 }, 'C29 the reply advertises the server\'s values')
  t.same(expiries, [1_000 + 1_000], 'C75 an interval beyond maxInterval is capped at it')

  await hold(t, h, link, clientId, { advice: { timeout: 50.9, interval: 300 } })
  t.same(holds, [200, 50], 'a shorter timeout is taken, in whole ms')
  session.deliver('/wake', 2)
  await flushed()
  t.equal(expiries.at(-1), 300 + 1_000, 'the cycle\'s interval, plus maxInterval')

  t.match(await h.reply(link, h.connect(clientId, { advice: { timeout: -5, interval: -5 } })), { successful: true }, 'a negative timeout is 0: answered at once')
  t.equal(expiries.at(-1), 0 + 1_000, 'a negative interval is 0')
  await hold(t, h, link, clientId)
  t.equal(holds.at(-1), 200, 'the next cycle without advice has the server\'s timeout again')
})

t.test('C29 a connect on another transport than the last one is told the advice', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  const clientId = await h.connected(new FakeRequestLink({ browserId: 'b' }))
  // Batched with a publish, so that it is answered at once (C39) without asking for advice.
  const batch = () => [h.connect(clientId, { connectionType: 'callback-polling' }), h.publish(clientId, '/a', 1)]
  const jsonp = new FakeRequestLink({ browserId: 'b', transport: 'callback-polling' })
  t.same((await h.ask(jsonp, batch())).replies[0]!.advice, { reconnect: 'retry', interval: 0, timeout: 60_000 }, 'moved from long-polling')
  t.notOk('advice' in (await h.ask(jsonp, batch())).replies[0]!, 'not again on the same transport')
  t.equal(h.session(clientId).transport, 'callback-polling')
})

t.test('C34 A15 a newer connect supersedes the held one: a request\'s is answered empty, a socket\'s is not answered', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  const first = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(first)
  const old = await hold(t, h, first, clientId, { id: 'old' })
  const second = new FakeRequestLink({ browserId: 'b' })
  const newer = await hold(t, h, second, clientId, { id: 'new' })
  t.same(old.answers, [{ events: [], replies: [{ id: 'old', channel: '/meta/connect', successful: true }] }], 'the old request gets its own reply, at once, with no events')
  t.equal(first.closeListeners, 0, 'and no longer watches its request')
  h.session(clientId).deliver('/wake', 1)
  t.same(await newer.answered, { events: [{ channel: '/wake', data: 1 }], replies: [{ id: 'new', channel: '/meta/connect', successful: true }] }, 'C38 the newer one was held (the browser hold passed on), and takes the events')
  t.equal(old.answers.length, 1, 'the old one is answered once')

  const socket = new FakePushLink()
  const socketClient = await h.connected(socket)
  const oldOnSocket = await hold(t, h, socket, socketClient, { id: 'old' })
  const newOnSocket = await hold(t, h, socket, socketClient, { id: 'new' })
  await flushed()
  t.same(oldOnSocket.answers, [], 'a socket\'s superseded connect is never answered: the socket carries the newer one\'s')
  await h.core.close()
  t.match(newOnSocket.answers, [{ replies: [{ id: 'new' }] }])
  t.same(oldOnSocket.answers, [])
})

t.test('C33 over HTTP events release the held connect, together, before its reply', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(link)
  const held = await hold(t, h, link, clientId, { id: 'c' })
  const session = h.session(clientId)
  session.deliver('/a', 1)
  session.deliver('/b', 2)
  t.same(held.answers, [], 'released at the end of the tick, not per event')
  t.same(await held.answered, { events: [{ channel: '/a', data: 1 }, { channel: '/b', data: 2 }], replies: [{ id: 'c', channel: '/meta/connect', successful: true }] })
  t.equal(link.closeListeners, 0, 'the released request is no longer watched')
  session.deliver('/c', 3)
  await flushed()
  t.same(await h.ask(link, [h.connect(clientId, { id: 'next' })]), { events: [{ channel: '/c', data: 3 }], replies: [{ id: 'next', channel: '/meta/connect', successful: true }] },
    'C32 C78 events queued between connects come with the next one, answered at once')
})

t.test('C92 A25 over a socket events are pushed at once and the held connect stays held', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  const socket = new FakePushLink()
  const clientId = await h.connected(socket)
  const held = await hold(t, h, socket, clientId)
  h.session(clientId).deliver('/a', 1)
  await flushed()
  t.same(socket.pushes, [[{ channel: '/a', data: 1 }]])
  t.same(held.answers, [], 'still held')
  t.equal(h.core.registry.held, 1)
})

t.test('A25 C96 C97 with the ack extension, events travel in connect replies only, and unacknowledged ones again', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  const socket = new FakePushLink()
  const clientId = await h.handshake(socket, { ext: { ack: true } })
  const session = h.session(clientId)
  const ack = (answer: Answer): unknown => answer.replies[0]!.ext?.['ack']
  t.equal(ack(await h.ask(socket, [h.connect(clientId, { ext: { ack: -1 } })])), 1, 'C96 batches are numbered from 1')

  session.deliver('/a', 'one')
  await flushed()
  t.same(socket.pushes, [], 'nothing pushed while no connect is held')
  const second = await h.ask(socket, [h.connect(clientId, { ext: { ack: 1 } })])
  t.same(second.events, [{ channel: '/a', data: 'one' }], 'queued events come with the next connect')
  t.equal(ack(second), 2)

  const resent = await h.ask(socket, [h.connect(clientId, { ext: { ack: 1 } })])
  t.same(resent.events, [{ channel: '/a', data: 'one' }], 'C97 batch 2 not acknowledged: sent again, at once')
  t.equal(ack(resent), 3)

  const held = await hold(t, h, socket, clientId, { ext: { ack: 3 } })
  session.deliver('/a', 'two')
  const released = await held.answered
  t.same(released.events, [{ channel: '/a', data: 'two' }], 'an event releases the held connect, even on a socket')
  t.equal(ack(released), 4)
  t.same(socket.pushes, [], 'and is never pushed')
})

t.test('C38 §5.7 a second tab of a browser polls: its connect is answered at once with multiple-clients advice', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, interval: 0, multiSessionInterval: 1_500, timesync: false })
  const tab1 = new FakeRequestLink({ browserId: 'b' })
  const tab2 = new FakeRequestLink({ browserId: 'b' })
  const first = await h.connected(tab1)
  const second = await h.connected(tab2)
  const held = await hold(t, h, tab1, first)
  t.same(await h.reply(tab2, { ...h.connect(second), id: 'x' }),
    { id: 'x', channel: '/meta/connect', successful: true, advice: { reconnect: 'retry', interval: 1_500, timeout: 60_000, 'multiple-clients': true } })
  const otherBrowser = new FakeRequestLink({ browserId: 'other' })
  await hold(t, h, otherBrowser, await h.connected(otherBrowser))

  h.session(first).deliver('/wake', 1)
  await held.answered
  await hold(t, h, tab2, second)
  t.pass('once the first tab\'s connect is answered, the second may hold')
})

t.test('C38 maxSessionsPerBrowser: negative is unlimited, 0 never holds over HTTP; sockets are not counted', async t => {
  const unlimited = await CoreHarness.start(t, { timeout: 60_000, maxSessionsPerBrowser: -1, timesync: false })
  for (let i = 0; i < 3; i++) {
    const tab = new FakeRequestLink({ browserId: 'b' })
    await hold(t, unlimited, tab, await unlimited.connected(tab))
  }

  const never = await CoreHarness.start(t, { timeout: 60_000, maxSessionsPerBrowser: 0, timesync: false })
  const tab = new FakeRequestLink({ browserId: 'b' })
  const clientId = await never.connected(tab)
  t.match(await never.reply(tab, never.connect(clientId)), { successful: true, advice: { 'multiple-clients': true } })
  for (let i = 0; i < 2; i++) {
    const socket = new FakePushLink({ browserId: 'b' })
    await hold(t, never, socket, await never.connected(socket))
  }
})

t.test('a backlogged socket: events wait in the queue until it drains, then leave together', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  const socket = new FakePushLink()
  const clientId = await h.connected(socket)
  const session = h.session(clientId)
  socket.backlogged = true
  session.deliver('/a', 1)
  await flushed()
  session.deliver('/a', 2)
  await flushed()
  t.same(socket.pushes, [], 'nothing written to a backlogged socket')
  t.equal(socket.drainListeners, 1, 'one drain listener, however many flushes')
  socket.drain()
  await flushed()
  t.same(socket.pushes, [[{ channel: '/a', data: 1 }, { channel: '/a', data: 2 }]], 'C70 in order, in one push')
})

t.test('a peer closing its held connect: no answer, the browser hold is freed, and events wait for the next connect', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, interval: 0, maxInterval: 5_000, timesync: false })
  const request = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(request)
  const session = h.session(clientId)
  const { expiries } = clockOf(h, session)
  const held = await hold(t, h, request, clientId)
  request.close()
  t.equal(h.core.registry.held, 0, 'no longer held')
  t.same(expiries, [0 + 5_000], 'C75 the expiry clock restarts')
  session.deliver('/a', 'kept')
  await flushed()
  t.same(held.answers, [], 'a closed request is never answered')

  const otherTab = new FakeRequestLink({ browserId: 'b' })
  await hold(t, h, otherTab, await h.connected(otherTab))
  t.pass('the browser hold was given back')
  t.same((await h.ask(new FakeRequestLink({ browserId: 'b' }), [h.connect(clientId, { advice: { timeout: 0 } })])).events, [{ channel: '/a', data: 'kept' }],
    'C78 the event waited for the next connect')
})

t.test('C78 a socket closing with a held connect: events wait and are pushed once a new socket resumes the session', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  const first = new FakePushLink()
  const clientId = await h.connected(first)
  const session = h.session(clientId)
  await hold(t, h, first, clientId)
  t.equal(first.closeListeners, 1, 'the socket is watched once, by its session, whose listener drops the hold')
  first.close()
  t.equal(session.socket, undefined)
  t.equal(h.core.registry.held, 0)
  session.deliver('/a', 'while away')
  await flushed()
  t.same(first.pushes, [], 'nothing written to a closed socket')

  const second = new FakePushLink()
  t.match(await h.reply(second, h.connect(clientId, { advice: { timeout: 0 } })), { successful: true })
  await flushed()
  t.same(second.pushed, [{ channel: '/a', data: 'while away' }], 'pushed once a socket is bound')
})

t.test('C78 events queued while no socket is bound are pushed when a new socket resumes with a connect that is held', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  const first = new FakePushLink()
  const clientId = await h.connected(first)
  const session = h.session(clientId)
  first.close()
  session.deliver('/a', 'while away')
  await flushed()

  const second = new FakePushLink()
  await hold(t, h, second, clientId)
  await flushed()
  t.same(second.pushed, [{ channel: '/a', data: 'while away' }], 'pushed once a socket is bound')
})

t.test('C36 C72 a held connect is answered with reconnect none when its client disconnects', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(link)
  const held = await hold(t, h, link, clientId, { id: 'c' })
  t.same(await h.reply(new FakeRequestLink({ browserId: 'b' }), { ...h.disconnect(clientId), id: 'd' }), { id: 'd', channel: '/meta/disconnect', successful: true })
  t.same(held.answers, [{ events: [], replies: [{ id: 'c', channel: '/meta/connect', successful: true, advice: { reconnect: 'none' } }] }])
  await hold(t, h, link, await h.connected(link))
  t.pass('the browser hold was freed')
})

t.test('C74 a server-side disconnect delivers what was queued, then /meta/disconnect, and answers the held connect with reconnect none', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(link)
  const held = await hold(t, h, link, clientId, { id: 'c' })
  const session = h.session(clientId)
  session.deliver('/last', 'words')
  session.disconnect()
  t.same(held.answers, [{
    events: [{ channel: '/last', data: 'words' }, { channel: '/meta/disconnect', successful: true }],
    replies: [{ id: 'c', channel: '/meta/connect', successful: true, advice: { reconnect: 'none' } }]
  }])
  session.deliver('/after', 'the end')
  await flushed()
  t.equal(held.answers.length, 1, 'an ended session takes no more events')

  const socket = new FakePushLink()
  const socketSession = h.session(await h.connected(socket))
  socketSession.disconnect()
  t.same(socket.pushed, [{ channel: '/meta/disconnect', successful: true }], 'on a socket with no held connect: pushed')
})

t.test('a held connect of a lost session sends the client back to handshake', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(link)
  const held = await hold(t, h, link, clientId, { id: 'c' })
  h.core.registry.remove(h.session(clientId), 'expired')
  t.same(held.answers, [{ events: [], replies: [{ id: 'c', channel: '/meta/connect', successful: false, error: '402::session_unknown', advice: { reconnect: 'handshake', interval: 0 } }] }])
})

t.test('§5.8 queueOverflow disconnect: a full queue ends the session, its held connect gets 409 and is told to handshake', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, maxQueue: 1, queueOverflow: 'disconnect', timesync: false })
  const ended = once(h.events, 'disconnect')
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(link)
  const held = await hold(t, h, link, clientId, { id: 'c' })
  const session = h.session(clientId)
  session.deliver('/a', 1)
  session.deliver('/a', 2)
  t.same(held.answers, [{ events: [], replies: [{ id: 'c', channel: '/meta/connect', successful: false, error: '409::queue_overflow', advice: { reconnect: 'handshake', interval: 0 } }] }])
  t.same((await ended)[1], 'overflow')
  t.match(h.log.at('warn'), [{ object: { clientId }, message: 'session queue full: session ended' }])
})

t.test('§5.8 queueOverflow drop-oldest keeps the newest events and reports how many were dropped', async t => {
  const h = await CoreHarness.start(t, { maxQueue: 2, queueOverflow: 'drop-oldest', timesync: false })
  const overflows: number[] = []
  h.events.on('overflow', (_session, dropped) => overflows.push(dropped))
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(link)
  const session = h.session(clientId)
  for (let i = 1; i <= 4; i++) session.deliver('/a', i)
  t.same(overflows, [1, 1])
  t.match(h.log.at('warn'), [{ object: { clientId, dropped: 1 }, message: 'session queue full: dropped oldest events' }, {}])
  t.same((await h.ask(link, [h.connect(clientId)])).events.map(event => 'data' in event && event.data), [3, 4])
})

t.test('§5.8 with acks, events sent but not acknowledged count against the queue, and the oldest of them go first', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, maxQueue: 2, queueOverflow: 'drop-oldest', timesync: false })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.handshake(link, { ext: { ack: true } })
  await h.ask(link, [h.connect(clientId)])
  const session = h.session(clientId)
  session.deliver('/a', 1)
  session.deliver('/a', 2)
  t.same((await h.ask(link, [h.connect(clientId, { ext: { ack: 1 } })])).events.map(event => 'data' in event && event.data), [1, 2], 'sent, not yet acknowledged')
  session.deliver('/a', 3)
  t.same((await h.ask(link, [h.connect(clientId, { ext: { ack: 1 } })])).events.map(event => 'data' in event && event.data), [2, 3], 'the oldest unacknowledged event made room')
})

t.test('C76 a session never expires while a connect is held; C75 it may once the reply is written', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(link)
  const session = h.session(clientId)
  const held = await hold(t, h, link, clientId)
  t.equal(h.core.registry.clocks.size, 1, 'its one deadline is the held connect\'s timeout')
  session.expired()
  t.equal(h.core.registry.get(clientId), session, 'a due expiry does not remove it')
  session.deliver('/a', 1)
  await held.answered
  t.equal(h.core.registry.clocks.size, 1, 'then its expiry, once answered')
  session.expired()
  t.equal(h.core.registry.get(clientId), undefined, 'and then it expires')
})

t.test('C77 another message while no connect is held pushes expiry to at least now + maxInterval', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, interval: 0, maxInterval: 10_000, timesync: false })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(link)
  const session = h.session(clientId)
  const { expiries } = clockOf(h, session)
  const realNow = performance.now.bind(performance)
  t.teardown(() => { performance.now = realNow })
  const start = realNow()
  performance.now = () => start - 60_000
  await h.reply(link, h.publish(clientId, '/a', 1))
  t.same(expiries, [], 'an earlier deadline than the one set is not taken')
  performance.now = () => start + 5_000
  await h.reply(link, h.publish(clientId, '/a', 2))
  t.same(expiries, [10_000], 'a later one is')
  performance.now = realNow
  await hold(t, h, link, clientId)
  const scheduled = expiries.length
  performance.now = () => start + 20_000
  await h.reply(link, h.publish(clientId, '/a', 3))
  performance.now = realNow
  t.equal(expiries.length, scheduled, 'C76 no expiry while a connect is held')
})

t.test('a held connect released by its timer: a failing respond is logged, the timer goes on', async t => {
  const h = await CoreHarness.start(t, { timeout: 100, timesync: false })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(link)
  let released!: () => void
  const called = new Promise<void>(resolve => { released = resolve })
  await h.core.process([h.connect(clientId)], link, () => {
    released()
    throw new Error('transport bug')
  })
  await keepingAlive(called)
  t.match(h.log.at('error'), [{ object: { err: { message: 'transport bug' } }, message: 'releasing a held connect failed' }])
})

t.test('§5.5 a connect while the server closes is answered at once', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(link)
  await h.core.close()
  t.match(await h.reply(link, h.connect(clientId)), { successful: true })
})
