/**
 * The message handlers (lib/server/handlers.ts) and the publisher behind them, without
 * sockets: handshake, subscribe, unsubscribe, disconnect and publish, with their
 * refusals (docs/protocol.md §3).
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import t from 'tap'
import type { EventMessage, Message } from '../../lib/protocol/message.ts'
import type { Extension } from '../../lib/server/extensions.ts'
import type { TransportContext } from '../../lib/server/link.ts'
import type { ServerSession } from '../../lib/server/session.ts'
import { CoreHarness, flushed } from '../support/core-harness.ts'
import { FakePushLink, FakeRequestLink } from '../support/fake-links.ts'

const handshake = (extra: Partial<Message> = {}): Message => ({ id: 'h', channel: '/meta/handshake', version: '1.0', ...extra })

/** A session whose events are pushed to `link`, subscribed to `subscription`. */
async function subscriber (h: CoreHarness, subscription: string | string[]): Promise<{ link: FakePushLink, clientId: string }> {
  const link = new FakePushLink()
  const clientId = await h.connected(link)
  const reply = await h.reply(link, h.subscribe(clientId, subscription))
  if (!reply.successful) throw new Error(`subscribe refused: ${reply.error}`)
  return { link, clientId }
}

t.test('C15 C16 C17 C25 a handshake gets a clientId, the version, the connection types and retry advice; its ext is not echoed', async t => {
  const created: unknown[] = []
  const onCreate = (message: unknown): void => { created.push(message) }
  diagnosticsChannel.subscribe('bayeux-server:session:create', onCreate)
  t.teardown(() => diagnosticsChannel.unsubscribe('bayeux-server:session:create', onCreate))
  const h = await CoreHarness.start(t, { timesync: false, timeout: 5_000, interval: 100 })
  const handshakes: ServerSession[] = []
  h.events.on('handshake', session => handshakes.push(session))
  const reply = await h.reply(new FakeRequestLink(), handshake({ ext: { custom: 1 }, supportedConnectionTypes: ['long-polling'] }))
  t.same(reply, {
    id: 'h',
    channel: '/meta/handshake',
    successful: true,
    clientId: reply.clientId,
    version: '1.0',
    minimumVersion: '1.0',
    supportedConnectionTypes: ['websocket', 'long-polling', 'callback-polling'],
    advice: { reconnect: 'retry', interval: 100, timeout: 5_000 }
  })
  t.match(reply.clientId, /^[0-9a-f]{40}$/, 'C21 160 random bits')
  const session = h.session(reply.clientId!)
  t.same(handshakes, [session], 'the handshake event')
  t.same(created, [{ session }], 'diagnostics hear of the new session')

  const again = await h.reply(new FakeRequestLink(), handshake({ clientId: reply.clientId! }))
  t.not(again.clientId, reply.clientId, 'C22 a handshake carrying a clientId makes a new session')
  t.equal(h.core.registry.size, 2)
})

t.test('C95 ext.ack is granted when asked for, unless the ack option is off', async t => {
  const on = await CoreHarness.start(t, { timesync: false })
  t.same((await on.reply(new FakeRequestLink(), handshake({ ext: { ack: true } }))).ext, { ack: true })
  t.notOk('ext' in await on.reply(new FakeRequestLink(), handshake({ ext: { ack: 'yes' } })), 'only ack:true asks')
  const off = await CoreHarness.start(t, { timesync: false, ack: false })
  t.notOk('ext' in await off.reply(new FakeRequestLink(), handshake({ ext: { ack: true } })))
})

t.test('C20 A26 a handshake sharing no connection type with the server is refused, for good', async t => {
  const h = await CoreHarness.start(t, { timesync: false, transports: ['long-polling', 'callback-polling'] })
  const link = new FakeRequestLink()
  t.same(await h.reply(link, handshake({ supportedConnectionTypes: ['websocket'] })), {
    id: 'h',
    channel: '/meta/handshake',
    successful: false,
    error: '301:long-polling,callback-polling:connection_types_not_supported',
    supportedConnectionTypes: ['long-polling', 'callback-polling'],
    advice: { reconnect: 'none' }
  })
  t.match(await h.reply(link, handshake({ supportedConnectionTypes: [] })), { error: '301:long-polling,callback-polling:connection_types_not_supported' }, 'an empty list shares nothing')
  t.equal(h.core.registry.size, 0, 'no session')
  t.same(link.assigned, [], 'no cookie either')
  t.match(await h.reply(link, handshake({ supportedConnectionTypes: ['websocket', 'callback-polling'] })), { successful: true }, 'one type in common is enough')
  t.match(await h.reply(link, handshake()), { successful: true }, 'C20 without the field')
})

t.test('§3.1 beyond maxSessions a handshake is refused with 503 and told to try again later', async t => {
  const h = await CoreHarness.start(t, { timesync: false, maxSessions: 1, multiSessionInterval: 1_500 })
  const link = new FakeRequestLink({ browserId: 'b' })
  const first = await h.handshake(link)
  t.same(await h.reply(link, handshake()), { id: 'h', channel: '/meta/handshake', successful: false, error: '503::too_many_sessions', advice: { reconnect: 'handshake', interval: 1_500 } })
  t.match(h.log.at('warn'), [{ object: { sessions: 1 }, message: 'handshake refused: too many sessions' }])
  await h.reply(link, h.disconnect(first))
  t.match(await h.reply(link, handshake()), { successful: true }, 'room again once a session ends')
})

t.test('C23 a handshake the policy refuses: 403::handshake_denied, reconnect none, no session', async t => {
  const contexts: TransportContext[] = []
  const h = await CoreHarness.start(t, {
    timesync: false,
    policy: {
      async canHandshake (session, message, context) {
        contexts.push(context)
        if (message.ext?.['token'] !== 'secret') return false
        session.attributes.set('user', 'alice')
        return true
      }
    }
  })
  const handshakes: unknown[] = []
  h.events.on('handshake', session => handshakes.push(session))
  const link = new FakeRequestLink({ headers: { 'x-test': 'yes' }, remoteAddress: '198.51.100.7' })
  t.same(await h.reply(link, handshake()), { id: 'h', channel: '/meta/handshake', successful: false, error: '403::handshake_denied', advice: { reconnect: 'none' } })
  t.equal(h.core.registry.size, 0)
  t.same(handshakes, [], 'no handshake event')
  t.match(contexts, [{ transport: 'long-polling', headers: { 'x-test': 'yes' }, remoteAddress: '198.51.100.7' }], 'the policy sees the request')

  const accepted = await h.reply(link, handshake({ ext: { token: 'secret' } }))
  t.equal(h.session(accepted.clientId!).attributes.get('user'), 'alice', 'what the policy set on the session stays')
})

t.test('C42 C43 C48 subscribing to a channel or an array of them, wildcards included; twice is once', async t => {
  const h = await CoreHarness.start(t, { timesync: false })
  const subscribed: string[] = []
  h.events.on('subscribe', (_session, channel) => subscribed.push(channel))
  const link = new FakePushLink()
  const clientId = await h.connected(link)
  t.same(await h.reply(link, { ...h.subscribe(clientId, ['/a', '/b/*', '/c/**']), id: 's' }),
    { id: 's', channel: '/meta/subscribe', successful: true, subscription: ['/a', '/b/*', '/c/**'] }, 'C41 subscription echoed as sent')
  t.same([...h.session(clientId).subscriptions], ['/a', '/b/*', '/c/**'])
  t.match(await h.reply(link, h.subscribe(clientId, '/a')), { successful: true, subscription: '/a' }, 'C48 again')
  t.same(subscribed, ['/a', '/b/*', '/c/**'], 'one subscribe event per new subscription')

  const publisher = new FakeRequestLink({ browserId: 'p' })
  const publisherId = await h.handshake(publisher)
  for (const channel of ['/a', '/b/x', '/c/x/y', '/b/x/y']) await h.reply(publisher, h.publish(publisherId, channel, channel))
  await flushed()
  t.same(link.pushed.map(event => event.data), ['/a', '/b/x', '/c/x/y'], 'C61 delivered once each, /b/* not matching /b/x/y')
})

t.test('C44 C45 C46 C52 A20 refused subscriptions, with subscription echoed', async t => {
  const h = await CoreHarness.start(t, { timesync: false })
  const link = new FakePushLink()
  const clientId = await h.connected(link)
  const attempt = async (subscription: string | string[] | undefined): Promise<unknown> => {
    const message = h.subscribe(clientId, [])
    if (subscription === undefined) delete message.subscription
    else message.subscription = subscription
    const { id: _id, channel: _channel, ...rest } = await h.reply(link, message)
    return rest
  }
  t.same(await attempt(undefined), { successful: false, error: '403::subscription_missing' }, 'C46 no subscription')
  t.same(await attempt('/a/*/b'), { successful: false, error: '403::subscription_invalid', subscription: '/a/*/b' }, 'C52 a wildcard before the last segment')
  t.same(await attempt('/a//b'), { successful: false, error: '403::subscription_invalid', subscription: '/a//b' }, 'A20 an empty segment')
  t.same(await attempt(['/fine', 'relative']), { successful: false, error: '403::subscription_invalid', subscription: ['/fine', 'relative'] }, 'one bad channel fails the request')
  t.same([...h.session(clientId).subscriptions], [], 'and subscribes to none of it')
  t.same(await attempt('/meta/connect'), { successful: false, error: '403:denied_by_security_policy:subscribe_denied', subscription: '/meta/connect' }, 'C45 a meta channel')
  t.same(await attempt('/service/x'), { successful: true, subscription: '/service/x' }, 'C44 a service channel succeeds')
  t.same([...h.session(clientId).subscriptions], [], 'and does nothing')
})

t.test('§7.3 maxSubscriptionsPerSession bounds one request and the session', async t => {
  const h = await CoreHarness.start(t, { timesync: false, maxSubscriptionsPerSession: 2 })
  const link = new FakePushLink()
  const clientId = await h.connected(link)
  t.match(await h.reply(link, h.subscribe(clientId, ['/a', '/b', '/c'])), { successful: false, error: '403::too_many_subscriptions', subscription: ['/a', '/b', '/c'] })
  t.same([...h.session(clientId).subscriptions], [], 'refused before any')
  t.match(await h.reply(link, h.subscribe(clientId, ['/a', '/b'])), { successful: true })
  t.match(await h.reply(link, h.subscribe(clientId, '/c')), { successful: false, error: '403::too_many_subscriptions' }, 'a third')
  t.match(await h.reply(link, h.subscribe(clientId, '/a')), { successful: true }, 'one it has does not count again')
  t.match(await h.reply(link, h.subscribe(clientId, '/service/x')), { successful: true }, 'service channels do not count')
  await h.reply(link, h.unsubscribe(clientId, '/b'))
  t.match(await h.reply(link, h.subscribe(clientId, '/c')), { successful: true }, 'room again after an unsubscribe')
})

t.test('C49 a subscribe whose session ends while the policy decides fails, and subscribes nothing', async t => {
  const h = await CoreHarness.start(t, {
    timesync: false,
    policy: {
      async canSubscribe (session) {
        session.disconnect()
        return true
      }
    }
  })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.handshake(link)
  const session = h.session(clientId)
  t.match(await h.reply(link, h.subscribe(clientId, '/a')), { successful: false, error: '403::subscribe_failed', subscription: '/a' })
  t.same([...session.subscriptions], [])
})

t.test('C50 C51 unsubscribe: from anything succeeds; after it, no more events', async t => {
  const h = await CoreHarness.start(t, { timesync: false })
  const unsubscribed: string[] = []
  h.events.on('unsubscribe', (_session, channel) => unsubscribed.push(channel))
  const { link, clientId } = await subscriber(h, ['/a', '/b'])
  t.same(await h.reply(link, { ...h.unsubscribe(clientId, ['/a', '/never']), id: 'u' }), { id: 'u', channel: '/meta/unsubscribe', successful: true, subscription: ['/a', '/never'] },
    'A21 a channel never subscribed to succeeds')
  t.same(unsubscribed, ['/a'], 'an unsubscribe event for what was subscribed only')
  t.same([...h.session(clientId).subscriptions], ['/b'])
  const publisher = new FakeRequestLink({ browserId: 'p' })
  const publisherId = await h.handshake(publisher)
  await h.reply(publisher, h.publish(publisherId, '/a', 'a'))
  await h.reply(publisher, h.publish(publisherId, '/b', 'b'))
  await flushed()
  t.same(link.pushed, [{ channel: '/b', data: 'b' }])

  const refused = async (message: Message): Promise<string | undefined> => (await h.reply(link, message)).error
  const missing = h.unsubscribe(clientId, '/x')
  delete missing.subscription
  t.equal(await refused(missing), '403::subscription_missing')
  t.equal(await refused(h.unsubscribe(clientId, '/a/*/b')), '403::subscription_invalid')
  t.equal(await refused(h.unsubscribe(clientId, '/meta/connect')), '403::unsubscribe_failed')
})

t.test('C71 C73 a disconnect is answered with its id, ends the session, and later messages are unknown', async t => {
  const h = await CoreHarness.start(t, { timesync: false })
  const reasons: string[] = []
  h.events.on('disconnect', (_session, reason) => reasons.push(reason))
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(link)
  t.same(await h.reply(link, { ...h.disconnect(clientId), id: 'd' }), { id: 'd', channel: '/meta/disconnect', successful: true })
  t.same(reasons, ['client'])
  t.equal(h.core.registry.get(clientId), undefined)
  t.match(await h.reply(link, h.publish(clientId, '/a', 1)), { error: '402::session_unknown' })
})

t.test('C53 C54 C55 C56 C57 C58 C59 a publish is acked without data; subscribers get channel, data and ext only', async t => {
  const h = await CoreHarness.start(t, { timesync: false })
  const published: Array<[EventMessage, ServerSession | undefined]> = []
  h.events.on('publish', (message, session) => published.push([message, session]))
  const diagnosed: unknown[] = []
  const onPublish = (message: unknown): void => { diagnosed.push(message) }
  diagnosticsChannel.subscribe('bayeux-server:publish', onPublish)
  t.teardown(() => diagnosticsChannel.unsubscribe('bayeux-server:publish', onPublish))
  const { link, clientId } = await subscriber(h, '/chat')
  const ack = await h.reply(link, h.publish(clientId, '/chat', { text: 'hi' }, { id: 'p', ext: { meta: 1 } }))
  t.same(ack, { id: 'p', channel: '/chat', successful: true })
  await flushed()
  t.same(link.pushed, [{ channel: '/chat', data: { text: 'hi' }, ext: { meta: 1 } }], 'no id, no clientId; the publisher gets its own event')
  t.same(published, [[{ channel: '/chat', data: { text: 'hi' }, ext: { meta: 1 } }, h.session(clientId)]], 'the publish event')
  t.same(diagnosed, [{ message: published[0]![0], session: h.session(clientId) }], 'diagnostics hear of it')
  t.match(await h.reply(link, h.publish(clientId, '/chat', null)), { successful: true }, 'null is data')
})

t.test('C63 C64 C68 refused publishes reach nobody', async t => {
  const h = await CoreHarness.start(t, { timesync: false })
  const published: unknown[] = []
  h.events.on('publish', message => published.push(message))
  const { link, clientId } = await subscriber(h, '/**')
  const refusal = async (message: Message): Promise<string | undefined> => (await h.reply(link, message)).error
  t.equal(await refusal(h.publish(clientId, '/a/*', 1)), '405:/a/*:channel_invalid', 'C63 A4 a wildcard channel')
  t.equal(await refusal(h.publish(clientId, '/a/**', 1)), '405:/a/**:channel_invalid')
  t.equal(await refusal(h.publish(clientId, '/meta/custom', 1)), '403:denied_by_security_policy:publish_denied', 'C64 a meta channel')
  t.equal(await refusal(h.publish(clientId, '/a//b', 1)), '405::channel_invalid', 'C07 an invalid channel')
  const noData = h.publish(clientId, '/a', undefined)
  delete noData.data
  t.equal(await refusal(noData), '402:data:missing', 'C68 A7 no data')
  await flushed()
  t.same(link.pushes, [])
  t.same(published, [])
})

t.test('§7.3 publishRate: a session publishing faster than its bucket allows is refused with 429', async t => {
  const h = await CoreHarness.start(t, { timesync: false, publishRate: 0.001, publishBurst: 2 })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.handshake(link)
  const results = []
  for (let i = 0; i < 3; i++) results.push((await h.reply(link, h.publish(clientId, '/a', i))).error)
  t.same(results, [undefined, undefined, '429::publish_rate_exceeded'], 'the burst, then refused')
  t.match(h.log.at('warn'), [{ object: { clientId, channel: '/a' }, message: 'publish refused: rate limit' }])
  const other = await h.handshake(link)
  t.match(await h.reply(link, h.publish(other, '/a', 1)), { successful: true }, 'each session has its own bucket')

  const unlimited = await CoreHarness.start(t, { timesync: false, publishRate: 0, publishBurst: 1 })
  const free = await unlimited.handshake(link)
  for (let i = 0; i < 5; i++) t.match(await unlimited.reply(link, unlimited.publish(free, '/a', i)), { successful: true }, `publishRate 0: unlimited (${i})`)
})

t.test('C69 an outgoing extension may change a broadcast event before fan-out, or drop it: 404::message_deleted', async t => {
  const seen: Array<[ServerSession | undefined, Message | undefined]> = []
  const censor: Extension = {
    outgoing (message, session, request) {
      if ('successful' in message) return
      seen.push([session, request])
      if (message.data === 'secret') return null
      return { ...message, data: `${String(message.data)}!` }
    }
  }
  const h = await CoreHarness.start(t, { timesync: false, extensions: [censor] })
  const { link, clientId } = await subscriber(h, '/a')
  const request = h.publish(clientId, '/a', 'secret', { id: 's' })
  t.same(await h.reply(link, request), { id: 's', channel: '/a', successful: false, error: '404::message_deleted' })
  t.match(seen, [[undefined, { id: 's', data: 'secret' }]], 'broadcast events are extended once, for no session, knowing their request')
  t.match(await h.reply(link, h.publish(clientId, '/a', 'hello')), { successful: true })
  await flushed()
  t.same(link.pushed, [{ channel: '/a', data: 'hello!' }])
})

t.test('server-side listeners of broadcast channels observe; one that fails is logged and delivery goes on', async t => {
  const h = await CoreHarness.start(t, { timesync: false })
  const heard: Array<[EventMessage, ServerSession | undefined]> = []
  h.core.publisher.listeners.add('/a/**', () => { throw new Error('listener bug') })
  h.core.publisher.listeners.add('/a/*', async (message, session) => { heard.push([message, session]) })
  const { link, clientId } = await subscriber(h, '/a/b')
  t.match(await h.reply(link, h.publish(clientId, '/a/b', 1)), { successful: true })
  await flushed()
  t.same(heard, [[{ channel: '/a/b', data: 1 }, h.session(clientId)]])
  t.same(link.pushed, [{ channel: '/a/b', data: 1 }])
  t.match(h.log.at('error'), [{ object: { channel: '/a/b' }, message: 'a channel listener failed' }])
})

t.test('C65 C66 a service publish is acked, broadcast to nobody, and each listener\'s answer goes back with the request id', async t => {
  const h = await CoreHarness.start(t, { timesync: false })
  const published: unknown[] = []
  h.events.on('publish', message => published.push(message))
  h.core.publisher.listeners.add('/service/echo', async (message, session) => ({ echoed: message.data, by: session?.id }))
  h.core.publisher.listeners.add('/service/**', () => undefined)
  const { link: watcher } = await subscriber(h, '/**')
  const caller = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.handshake(caller)
  const answer = await h.ask(caller, [h.publish(clientId, '/service/echo', 'ping', { id: 'call' })])
  t.same(answer, {
    events: [],
    replies: [
      { id: 'call', channel: '/service/echo', successful: true },
      { id: 'call', channel: '/service/echo', successful: true, data: { echoed: 'ping', by: clientId } }
    ]
  }, 'the ack, then the one answer (a listener returning undefined answers nothing)')
  t.same(published, [{ channel: '/service/echo', data: 'ping' }], 'the publish event still fires')
  t.same(await h.reply(caller, h.publish(clientId, '/service/nobody', 1, { id: 'n' })), { id: 'n', channel: '/service/nobody', successful: true }, 'no listener: the ack alone')
  await flushed()
  t.same(watcher.pushes, [], 'C62 never broadcast')
})

t.test('a service listener that throws, or answers what cannot become JSON, fails that call: 500::internal_error', async t => {
  const h = await CoreHarness.start(t, { timesync: false })
  h.core.publisher.listeners.add('/service/throws', () => { throw new Error('service bug') })
  h.core.publisher.listeners.add('/service/bigint', () => 1n)
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.handshake(link)
  const answer = await h.ask(link, [
    h.publish(clientId, '/service/throws', 1, { id: 't' }),
    h.publish(clientId, '/service/bigint', 1, { id: 'b' }),
    h.publish(clientId, '/fine', 1, { id: 'f' })
  ])
  t.same(answer.replies, [
    { id: 't', channel: '/service/throws', successful: false, error: '500::internal_error' },
    { id: 'b', channel: '/service/bigint', successful: false, error: '500::internal_error' },
    { id: 'f', channel: '/fine', successful: true }
  ])
})
