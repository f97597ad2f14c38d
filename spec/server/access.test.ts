/**
 * The access chain (lib/server/access.ts, docs/protocol.md §7.4): the policy's canCreate
 * on a channel's first use, then canSubscribe or canPublish, then the authorizers; and
 * the authorizers' say on deliveries to wildcard subscribers.
 */
import { EventEmitter } from 'node:events'
import t from 'tap'
import { MemoryEngine } from '../../lib/engines/memory.ts'
import { resolveOptions } from '../../lib/options.ts'
import { ChannelParser } from '../../lib/protocol/channel.ts'
import type { ParsedChannel } from '../../lib/protocol/channel.ts'
import type { Message } from '../../lib/protocol/message.ts'
import { AccessChain } from '../../lib/server/access.ts'
import { Authorizers } from '../../lib/server/authorizers.ts'
import { Reporter } from '../../lib/server/reporter.ts'
import type { SecurityPolicy } from '../../lib/server/security.ts'
import type { ServerSession, Session } from '../../lib/server/session.ts'
import { SessionRegistry } from '../../lib/server/session-registry.ts'
import { CoreHarness, flushed } from '../support/core-harness.ts'
import { FakePushLink, FakeRequestLink } from '../support/fake-links.ts'

const channels = new ChannelParser({ maxLength: 512, maxDepth: 32 })
const channel = (name: string): ParsedChannel => channels.parse(name)!
const message = (name: string): Message => ({ id: '1', channel: name })

/** An access chain over `policy`, a session to ask for, and the authorizer failures it reported. */
function chain (policy: SecurityPolicy = {}): { access: AccessChain, authorizers: Authorizers, session: Session, failures: unknown[] } {
  const failures: unknown[] = []
  const authorizers = new Authorizers(error => failures.push(error))
  const registry = new SessionRegistry(resolveOptions(), new Reporter(new EventEmitter()), new MemoryEngine(), () => {})
  const session = registry.create(new FakeRequestLink({ browserId: 'b' }), { ack: false })
  return { access: new AccessChain(policy, authorizers), authorizers, session, failures }
}

t.test('canCreate is asked once per channel, then remembered, for subscribe and publish alike', async t => {
  const asked: Array<[ServerSession, string, Message]> = []
  const { access, session } = chain({ canCreate: (session, name, message) => { asked.push([session, name, message]); return true } })
  const request = message('/meta/subscribe')
  t.equal(await access.check('subscribe', session, channel('/a'), request), undefined)
  t.equal(asked.length, 1)
  t.equal(asked[0]![0], session, 'asked about the session')
  t.equal(asked[0]![1], '/a', 'the channel name')
  t.equal(asked[0]![2], request, 'and the message')
  t.equal(await access.check('subscribe', session, channel('/a'), request), undefined)
  t.equal(await access.check('publish', session, channel('/a'), message('/a')), undefined)
  t.equal(asked.length, 1, 'not asked again for /a, whatever the operation')
  await access.check('publish', session, channel('/b'), message('/b'))
  t.same(asked.map(([, name]) => name), ['/a', '/b'], 'asked for each new channel')
})

t.test('C49 C69 a refused creation: create_denied for subscribe, channel_create_denied for publish, and asked again', async t => {
  let allow = false
  let asked = 0
  const { access, session } = chain({ canCreate: async () => { asked++; return allow } })
  t.equal(await access.check('subscribe', session, channel('/new'), message('/meta/subscribe')), '403:denied_by_security_policy:create_denied')
  t.equal(await access.check('publish', session, channel('/new'), message('/new')), '403:denied_by_security_policy:channel_create_denied')
  t.equal(asked, 2, 'a refusal is not remembered')
  allow = true
  t.equal(await access.check('publish', session, channel('/new'), message('/new')), undefined, 'async canCreate')
  allow = false
  t.equal(await access.check('subscribe', session, channel('/new'), message('/meta/subscribe')), undefined, 'created once is created for good')
  t.equal(asked, 3)
})

t.test('C49 C69 the chain runs canCreate, the policy, then the authorizers, and stops at the first refusal', async t => {
  const calls: string[] = []
  const verdict: Record<string, boolean> = {}
  const step = (name: string) => () => { calls.push(name); return verdict[name] ?? true }
  const { access, authorizers, session } = chain({ canCreate: step('canCreate'), canSubscribe: step('canSubscribe'), canPublish: step('canPublish') })
  authorizers.add('/**', { canSubscribe: step('authorizer.canSubscribe'), canPublish: step('authorizer.canPublish') })

  t.equal(await access.check('subscribe', session, channel('/s'), message('/meta/subscribe')), undefined)
  t.same(calls.splice(0), ['canCreate', 'canSubscribe', 'authorizer.canSubscribe'])
  t.equal(await access.check('publish', session, channel('/p'), message('/p')), undefined)
  t.same(calls.splice(0), ['canCreate', 'canPublish', 'authorizer.canPublish'])

  verdict['canSubscribe'] = false
  verdict['canPublish'] = false
  t.equal(await access.check('subscribe', session, channel('/s'), message('/meta/subscribe')), '403:denied_by_security_policy:subscribe_denied')
  t.equal(await access.check('publish', session, channel('/p'), message('/p')), '403:denied_by_security_policy:publish_denied')
  t.same(calls.splice(0), ['canSubscribe', 'canPublish'], 'no authorizer asked once the policy said no')

  verdict['canSubscribe'] = true
  verdict['canPublish'] = true
  verdict['authorizer.canSubscribe'] = false
  verdict['authorizer.canPublish'] = false
  t.equal(await access.check('subscribe', session, channel('/s'), message('/meta/subscribe')), '403:denied_by_authorizer:subscribe_denied')
  t.equal(await access.check('publish', session, channel('/p'), message('/p')), '403:denied_by_authorizer:publish_denied')

  verdict['canCreate'] = false
  t.equal(await access.check('subscribe', session, channel('/t'), message('/meta/subscribe')), '403:denied_by_security_policy:create_denied')
  t.same(calls.slice(-1), ['canCreate'], 'nothing after a refused creation')
})

t.test('policy methods may be async, and are called on the policy object', async t => {
  class ByRole implements SecurityPolicy {
    readonly open = new Set(['/public'])
    async canSubscribe (_session: ServerSession, name: string): Promise<boolean> {
      return this.open.has(name)
    }
  }
  const { access, session } = chain(new ByRole())
  t.equal(await access.check('subscribe', session, channel('/public'), message('/meta/subscribe')), undefined)
  t.equal(await access.check('subscribe', session, channel('/secret'), message('/meta/subscribe')), '403:denied_by_security_policy:subscribe_denied')
  t.equal(await access.check('publish', session, channel('/secret'), message('/secret')), undefined, 'no canPublish: publishing is allowed')
})

t.test('§7.4 an authorizer has a say only through the methods it has; one false among several denies', async t => {
  const { access, authorizers, session } = chain()
  authorizers.add('/a/**', { canSubscribe: () => true })
  const removeBlocker = authorizers.add('/a/b', { canPublish: () => false })
  t.equal(await access.check('publish', session, channel('/a/c'), message('/a/c')), undefined, 'no canPublish: no opinion')
  t.equal(await access.check('publish', session, channel('/a/b'), message('/a/b')), '403:denied_by_authorizer:publish_denied')
  t.equal(await access.check('subscribe', session, channel('/a/b'), message('/meta/subscribe')), undefined, 'the blocker has no canSubscribe')
  removeBlocker()
  t.equal(await access.check('publish', session, channel('/a/b'), message('/a/b')), undefined, 'a removed authorizer says nothing')
})

t.test('an authorizer that throws denies (fails closed), and the failure is reported', async t => {
  const { access, authorizers, session, failures } = chain()
  const bug = new Error('authorizer bug')
  authorizers.add('/x', { canSubscribe: () => { throw bug } })
  t.equal(await access.check('subscribe', session, channel('/x'), message('/meta/subscribe')), '403:denied_by_authorizer:subscribe_denied')
  t.same(failures, [bug])
  t.equal(access.mayReceive(session, channel('/x')), false, 'and on delivery too')
})

t.test('mayReceive: always without authorizers; otherwise their canSubscribe decides', async t => {
  const { access, authorizers, session } = chain()
  t.equal(access.mayReceive(session, channel('/private/x')), true)
  const remove = authorizers.add('/private/**', { canSubscribe: session => session.attributes.get('role') === 'admin' })
  t.equal(access.mayReceive(session, channel('/private/x')), false)
  t.equal(access.mayReceive(session, channel('/public/x')), true, 'channels the authorizer does not guard')
  session.attributes.set('role', 'admin')
  t.equal(access.mayReceive(session, channel('/private/x')), true)
  session.attributes.delete('role')
  remove()
  t.equal(access.mayReceive(session, channel('/private/x')), true, 'the authorizer removed')
})

t.test('C49 C69 on the wire: the refusals reach the client in the reply, and nothing is done', async t => {
  const h = await CoreHarness.start(t)
  h.core.authorizers.add('/guarded', { canSubscribe: () => false, canPublish: () => false })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.handshake(link)
  const subscribed = await h.reply(link, { ...h.subscribe(clientId, '/guarded'), id: 's1' })
  t.same(subscribed, { id: 's1', channel: '/meta/subscribe', successful: false, error: '403:denied_by_authorizer:subscribe_denied', subscription: '/guarded' })
  t.same([...h.session(clientId).subscriptions], [])
  const published: unknown[] = []
  h.events.on('publish', message => published.push(message))
  const reply = await h.reply(link, { ...h.publish(clientId, '/guarded', 1), id: 'p1' })
  t.same(reply, { id: 'p1', channel: '/guarded', successful: false, error: '403:denied_by_authorizer:publish_denied' })
  t.same(published, [], 'not published')
})

t.test('§7.4 a wildcard subscriber gets an event only where the authorizers let it subscribe', async t => {
  const h = await CoreHarness.start(t)
  h.core.authorizers.add('/private/**', { canSubscribe: session => session.attributes.get('role') === 'admin' })
  const watcher = new FakePushLink()
  const admin = new FakePushLink()
  const watcherId = await h.connected(watcher)
  const adminId = await h.connected(admin)
  h.session(adminId).attributes.set('role', 'admin')
  t.match(await h.reply(watcher, h.subscribe(watcherId, '/**')), { successful: true }, 'subscribing to /** is not guarded')
  t.match(await h.reply(admin, h.subscribe(adminId, '/**')), { successful: true })
  const publisher = new FakeRequestLink({ browserId: 'p' })
  const publisherId = await h.handshake(publisher)
  t.match(await h.reply(publisher, h.publish(publisherId, '/private/x', 'secret')), { successful: true }, 'the authorizer has no canPublish')
  t.match(await h.reply(publisher, h.publish(publisherId, '/public/x', 'news')), { successful: true })
  await flushed()
  t.same(watcher.pushed, [{ channel: '/public/x', data: 'news' }], 'the private event was filtered out on delivery')
  t.same(admin.pushed, [{ channel: '/private/x', data: 'secret' }, { channel: '/public/x', data: 'news' }])
})
