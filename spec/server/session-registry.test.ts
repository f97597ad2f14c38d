/**
 * The session registry (lib/server/session-registry.ts) without sockets: which link may
 * speak for which session (docs/protocol.md §5.9), per-browser hold counts (§5.7), flush
 * scheduling, removal and shutdown.
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import { EventEmitter, once } from 'node:events'
import t from 'tap'
import { MemoryEngine } from '../../lib/engines/memory.ts'
import { resolveOptions } from '../../lib/options.ts'
import type { Options } from '../../lib/options.ts'
import { Reporter } from '../../lib/server/reporter.ts'
import type { BrowserHolds, EndReason, Session } from '../../lib/server/session.ts'
import { SessionRegistry } from '../../lib/server/session-registry.ts'
import { CoreHarness, flushed, keepingAlive } from '../support/core-harness.ts'
import { FakePushLink, FakeRequestLink } from '../support/fake-links.ts'

/** A registry on its own, with a removal listener that records its calls. */
function registryWith (options: Partial<Options> = {}): { registry: SessionRegistry, removals: Array<[Session, EndReason]> } {
  const removals: Array<[Session, EndReason]> = []
  const registry = new SessionRegistry(resolveOptions(options), new Reporter(new EventEmitter()), new MemoryEngine(), (session, reason) => removals.push([session, reason]))
  t.teardown(() => registry.close())
  return { registry, removals }
}

t.test('C100 over HTTP a clientId counts only with the browser cookie it was issued with', async t => {
  const h = await CoreHarness.start(t)
  const first = new FakeRequestLink()
  const clientId = await h.handshake(first)
  t.equal(first.assigned.length, 1, 'C24 a handshake without the cookie is given one')
  const cookie = first.assigned[0]!
  t.equal(h.session(clientId).browserId, cookie, 'the session is bound to that cookie')

  t.match(await h.reply(new FakeRequestLink({ browserId: cookie }), h.subscribe(clientId, '/a')), { successful: true }, 'the same cookie')
  const without = await h.reply(new FakeRequestLink(), h.subscribe(clientId, '/a'))
  t.match(without, { successful: false, error: '402::session_unknown', subscription: '/a' }, 'no cookie: unknown (C41 subscription echoed)')
  t.notOk('advice' in without, 'C47 no reconnect advice on a subscribe reply')
  t.match(await h.reply(new FakeRequestLink({ browserId: 'someone-else' }), h.publish(clientId, '/a', 1)), { error: '402::session_unknown' }, 'another cookie: unknown')
  t.ok(h.core.registry.get(clientId), 'the session itself is untouched')
})

t.test('C24 a handshake that carries a cookie keeps it', async t => {
  const h = await CoreHarness.start(t)
  const link = new FakeRequestLink({ browserId: 'mine' })
  const clientId = await h.handshake(link)
  t.same(link.assigned, [], 'no new cookie')
  t.equal(h.session(clientId).browserId, 'mine')
})

t.test('C100 A16 trustClientSession accepts an HTTP clientId without its cookie', async t => {
  const h = await CoreHarness.start(t, { trustClientSession: true })
  const clientId = await h.handshake(new FakeRequestLink({ browserId: 'mine' }))
  t.match(await h.reply(new FakeRequestLink(), h.subscribe(clientId, '/a')), { successful: true }, 'no cookie')
  t.match(await h.reply(new FakeRequestLink({ browserId: 'theirs' }), h.subscribe(clientId, '/b')), { successful: true }, 'another cookie')
})

t.test('§5.9 a session made over WebSocket has no cookie: HTTP may use it only with trustClientSession', async t => {
  const strict = await CoreHarness.start(t)
  const socket = new FakePushLink({ browserId: 'upgrade-cookie' })
  const clientId = await strict.handshake(socket)
  t.equal(strict.session(clientId).browserId, undefined, 'a push link gives the session no cookie')
  t.match(await strict.reply(new FakeRequestLink({ browserId: 'upgrade-cookie' }), strict.subscribe(clientId, '/a')), { error: '402::session_unknown' },
    'not even with the cookie of the upgrade request')

  const trusting = await CoreHarness.start(t, { trustClientSession: true })
  const trusted = await trusting.handshake(new FakePushLink())
  t.match(await trusting.reply(new FakeRequestLink(), trusting.subscribe(trusted, '/a')), { successful: true })
})

t.test('C89 C90 a new socket may resume a session whose socket closed, never one whose socket is open', async t => {
  const h = await CoreHarness.start(t)
  const owner = new FakePushLink()
  const clientId = await h.handshake(owner)
  const session = h.session(clientId)
  t.equal(session.socket, owner, 'C89 a handshake on a socket binds the session to it')

  const thief = new FakePushLink()
  t.match(await h.reply(thief, h.subscribe(clientId, '/private')), { successful: false, error: '402::session_unknown' }, 'the owner\'s socket is open')
  t.equal(session.socket, owner, 'and keeps the session')
  t.same([...session.subscriptions], [], 'nothing was done for the thief')

  owner.close()
  t.equal(session.socket, undefined, 'a closed socket binds nothing')
  const successor = new FakePushLink()
  t.match(await h.reply(successor, h.connect(clientId, { advice: { timeout: 0 } })), { successful: true }, 'C90 resumed on the new socket')
  t.equal(session.socket, successor, 'bound to it')
  session.deliver('/direct', 'to the new socket')
  await flushed()
  t.same(successor.pushed, [{ channel: '/direct', data: 'to the new socket' }], 'events go to the new socket')
  t.same(owner.pushes, [], 'never to the old one')
})

t.test('C90 a socket resuming an HTTP session: no cookie or the same one may, another browser\'s may not', async t => {
  const h = await CoreHarness.start(t)
  const clientId = await h.handshake(new FakeRequestLink({ browserId: 'mine' }))
  const session = h.session(clientId)
  t.match(await h.reply(new FakePushLink({ browserId: 'theirs' }), h.subscribe(clientId, '/a')), { error: '402::session_unknown' }, 'another browser\'s cookie')
  t.equal(session.socket, undefined, 'not bound')
  const cookieless = new FakePushLink()
  t.match(await h.reply(cookieless, h.subscribe(clientId, '/a')), { successful: true }, 'an upgrade without cookie (Faye\'s Node client) may')
  t.equal(session.socket, cookieless)

  const other = await h.handshake(new FakeRequestLink({ browserId: 'mine' }))
  const same = new FakePushLink({ browserId: 'mine' })
  t.match(await h.reply(same, h.subscribe(other, '/a')), { successful: true }, 'the same cookie may')
  t.equal(h.session(other).socket, same)

  const trusting = await CoreHarness.start(t, { trustClientSession: true })
  const trusted = await trusting.handshake(new FakeRequestLink({ browserId: 'mine' }))
  t.match(await trusting.reply(new FakePushLink({ browserId: 'theirs' }), trusting.subscribe(trusted, '/a')), { successful: true },
    'another cookie with trustClientSession')
})

t.test('§5.4 requireHandshakePerConnection: no socket resumes a session, its own socket still speaks for it', async t => {
  const h = await CoreHarness.start(t, { requireHandshakePerConnection: true })
  const owner = new FakePushLink()
  const clientId = await h.handshake(owner)
  t.match(await h.reply(owner, h.subscribe(clientId, '/a')), { successful: true }, 'the socket of the handshake')
  owner.close()
  t.match(await h.reply(new FakePushLink(), h.connect(clientId, { advice: { timeout: 0 } })), { error: '402::session_unknown' }, 'a new socket')
  const overHttp = await h.handshake(new FakeRequestLink({ browserId: 'mine' }))
  t.match(await h.reply(new FakePushLink(), h.subscribe(overHttp, '/a')), { error: '402::session_unknown' }, 'an HTTP session cannot move to a socket')
  t.match(await h.reply(new FakeRequestLink({ browserId: 'mine' }), h.subscribe(overHttp, '/a')), { successful: true }, 'but still works over HTTP')
})

t.test('find: no clientId or an unknown one names no session', async t => {
  const { registry } = registryWith()
  const link = new FakeRequestLink({ browserId: 'b' })
  const session = registry.create(link, { ack: false })
  t.equal(registry.find(session.id, link, undefined), undefined, 'created but not added: not live yet')
  registry.add(session, link)
  t.equal(registry.find(session.id, link, undefined), session)
  t.equal(registry.find(undefined, link, undefined), undefined)
  t.equal(registry.find('0'.repeat(40), link, undefined), undefined)
})

t.test('C38 §5.7 held connects are counted, and per browser up to maxSessionsPerBrowser', async t => {
  const request = new FakeRequestLink()
  const browser = (): BrowserHolds => ({ held: 0 })
  const { registry: one } = registryWith({ maxSessionsPerBrowser: 1 })
  const a = browser()
  t.equal(one.holdStarted(request, a), true)
  t.equal(one.holdStarted(request, a), false, 'a second hold of the same browser')
  t.equal(one.holdStarted(request, browser()), true, 'another browser counts apart')
  t.equal(one.held, 2, 'the refused one is not counted')
  one.holdEnded(request, a)
  t.equal(one.held, 1)
  t.equal(one.holdStarted(request, a), true, 'an ended hold can be taken again')

  const socket = new FakePushLink()
  t.ok([one.holdStarted(socket, a), one.holdStarted(socket, a)].every(Boolean), 'sockets have no browser limit')
  t.equal(one.held, 4, 'but count as held')
  t.ok(one.holdStarted(request, undefined), 'nor has a session without a browser cookie')

  const c = browser()
  one.holdEnded(request, c)
  one.holdEnded(request, c)
  t.equal(one.holdStarted(request, c), true, 'ending what was never held banks nothing')
  t.equal(one.holdStarted(request, c), false)

  const { registry: two } = registryWith({ maxSessionsPerBrowser: 2 })
  const b = browser()
  t.same([two.holdStarted(request, b), two.holdStarted(request, b), two.holdStarted(request, b)], [true, true, false])

  const { registry: unlimited } = registryWith({ maxSessionsPerBrowser: -1 })
  t.ok(Array.from({ length: 50 }, () => unlimited.holdStarted(request, b)).every(Boolean), 'negative: unlimited')

  const { registry: none } = registryWith({ maxSessionsPerBrowser: 0 })
  t.equal(none.holdStarted(request, browser()), false, '0: never')
})

t.test('C38 §5.7 the sessions of one browser share its count while one of them lives here', async t => {
  const { registry } = registryWith({ maxSessionsPerBrowser: 1 })
  const join = (browserId: string | undefined): Session => {
    const link = new FakeRequestLink({ browserId })
    const session = registry.create(link, { ack: false })
    registry.add(session, link)
    return session
  }
  const [first, second, other] = [join('tab'), join('tab'), join('other')]
  t.ok(first.browser !== undefined && first.browser === second.browser, 'two sessions of one cookie, one count')
  t.not(other.browser, first.browser, 'another cookie counts apart')
  t.equal(join(undefined).browser, undefined, 'a session without a cookie (a WebSocket handshake) has none')

  const request = new FakeRequestLink({ browserId: 'tab' })
  t.equal(registry.holdStarted(request, first.browser), true)
  t.equal(registry.holdStarted(request, second.browser), false, 'the second tab must poll')
  registry.holdEnded(request, first.browser)
  registry.remove(first, 'client')
  t.equal(first.browser, undefined, 'an ended session lets its browser go')
  t.equal(registry.holdStarted(request, second.browser), true, 'the count lives on with the browser\'s other session')
  registry.holdEnded(request, second.browser)
  registry.remove(second, 'client')

  const again = join('tab')
  t.not(again.browser, second.browser, 'once its last session ended, the browser was forgotten: a new one starts afresh')
  t.equal(again.browser?.held, 0)
  t.equal(registry.release(again.id) !== undefined && again.browser, undefined, 'a session that moves to another node lets it go too')
})

t.test('remove forgets and ends the session, and calls the listener once', async t => {
  const { registry, removals } = registryWith()
  const link = new FakeRequestLink({ browserId: 'b' })
  const session = registry.create(link, { ack: false })
  registry.add(session, link)
  t.equal(registry.size, 1)
  registry.remove(session, 'client')
  registry.remove(session, 'server')
  t.same(removals, [[session, 'client']], 'once, with the first reason')
  t.equal(session.ended, true)
  t.equal(registry.size, 0)
  t.equal(registry.get(session.id), undefined)

  const never = registry.create(link, { ack: false })
  registry.remove(never, 'client')
  t.equal(removals.length, 1, 'a session never added is not reported')
  t.equal(never.ended, false)
})

t.test('a removed session is gone from the engine and reported once, whatever removes it', async t => {
  const h = await CoreHarness.start(t)
  const destroyed: unknown[] = []
  const onDestroy = (message: unknown): void => { destroyed.push(message) }
  diagnosticsChannel.subscribe('bayeux-server:session:destroy', onDestroy)
  t.teardown(() => diagnosticsChannel.unsubscribe('bayeux-server:session:destroy', onDestroy))
  const disconnects: EndReason[] = []
  h.events.on('disconnect', (_session, reason) => disconnects.push(reason))

  const subscriber = new FakePushLink()
  const clientId = await h.connected(subscriber)
  await h.reply(subscriber, h.subscribe(clientId, '/a'))
  const session = h.session(clientId)
  session.disconnect()
  session.disconnect()
  h.core.registry.remove(session, 'expired')
  t.same(disconnects, ['server'], 'the disconnect event fires once')
  t.same(destroyed, [{ server: h.events, session, reason: 'server' }], 'diagnostics hear of it once')

  const before = subscriber.pushes.length
  const publisher = new FakeRequestLink({ browserId: 'p' })
  const other = await h.handshake(publisher)
  t.match(await h.reply(publisher, h.publish(other, '/a', 'after')), { successful: true })
  await flushed()
  t.equal(subscriber.pushes.length, before, 'its subscriptions are gone from the engine')
})

t.test('an engine that fails to destroy a session is logged, the session still goes', async t => {
  class FailingEngine extends MemoryEngine {
    override destroySession (): Promise<void> {
      return Promise.reject(new Error('engine down'))
    }
  }
  const h = await CoreHarness.start(t, { engine: new FailingEngine() })
  const clientId = await h.handshake(new FakeRequestLink({ browserId: 'b' }))
  h.session(clientId).disconnect()
  t.equal(h.core.registry.size, 0)
  await flushed()
  t.match(h.log.at('error'), [{ object: { operation: 'destroySession' }, message: 'engine operation failed' }])
})

t.test('C75 a session with no connect expires, is removed as expired, and C26 its next connect is told to handshake', async t => {
  const h = await CoreHarness.start(t, { maxInterval: 1 })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.handshake(link)
  const disconnected = once(h.events, 'disconnect')
  // A listener that throws is logged: the expiry timer keeps working for everyone else.
  h.events.on('disconnect', () => { throw new Error('listener bug') })
  const [session, reason] = await keepingAlive(disconnected)
  t.equal(session.id, clientId)
  t.equal(reason, 'expired')
  t.equal(h.core.registry.size, 0)
  t.match(h.log.at('error'), [{ message: 'a \'disconnect\' listener failed' }])
  t.same(await h.reply(link, { ...h.connect(clientId), id: 'late' }),
    { id: 'late', channel: '/meta/connect', successful: false, error: '402::session_unknown', advice: { reconnect: 'handshake', interval: 0 } })
})

t.test('close() answers every held connect, ends no session, and holds nothing more', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000 })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(link)
  const held = h.send(link, [h.connect(clientId)])
  await held.done
  t.equal(held.responder.answers.length, 0, 'held')
  t.equal(h.core.registry.held, 1)
  await h.core.close()
  t.equal(h.core.registry.closing, true)
  t.match(held.responder.answers, [{ events: [], replies: [{ channel: '/meta/connect', successful: true }] }], 'answered as if its time were up')
  t.equal(h.core.registry.size, 1, 'sessions stay: clients reconnect')
  t.equal(h.core.registry.held, 0)
  t.equal(h.core.registry.clocks.size, 0, 'timers stopped')
  t.match(await h.reply(link, h.connect(clientId)), { successful: true }, 'a connect while closing is answered at once')
})

t.test('§5.5 events arriving in one tick leave together, in one flush', async t => {
  const h = await CoreHarness.start(t)
  const link = new FakePushLink()
  const session = h.session(await h.connected(link))
  session.deliver('/a', 1)
  session.deliver('/a', 2)
  session.deliver('/b', 3, { note: 'with ext' })
  t.same(link.pushes, [], 'nothing is written synchronously')
  await flushed()
  t.same(link.pushes, [[{ channel: '/a', data: 1 }, { channel: '/a', data: 2 }, { channel: '/b', data: 3, ext: { note: 'with ext' } }]], 'one push, in order (C70)')
})

t.test('a flush that throws is logged and the other sessions are still flushed', async t => {
  const h = await CoreHarness.start(t)
  const broken = new FakePushLink()
  broken.push = () => { throw new Error('socket bug') }
  const healthy = new FakePushLink()
  const first = h.session(await h.connected(broken))
  const second = h.session(await h.connected(healthy))
  first.deliver('/a', 1)
  second.deliver('/a', 2)
  await flushed()
  t.same(healthy.pushed, [{ channel: '/a', data: 2 }])
  t.match(h.log.at('error'), [{ message: 'flushing a session failed' }])
})
