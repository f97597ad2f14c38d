/**
 * lib/observability/metrics.ts: what each metric counts, driven through the core's
 * fake links (no sockets), read back by parsing the Prometheus text.
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import t from 'tap'
import { BAD_INPUT_REASONS } from '../../lib/diagnostics.ts'
import { MemoryEngine } from '../../lib/engines/memory.ts'
import { BayeuxMetrics, MESSAGE_TYPES, messageTypeIndex } from '../../lib/observability/metrics.ts'
import type { MetricsOptions } from '../../lib/observability/metrics.ts'
import type { BayeuxOptions } from '../../lib/server/core.ts'
import { CoreHarness, flushed } from '../support/core-harness.ts'
import { FakePushLink, FakeRequestLink } from '../support/fake-links.ts'
import { Scrape } from '../support/prometheus-text.ts'

interface Teardown { teardown (fn: () => unknown): void }

/** A started core with metrics on it, both closed when `t` ends. */
async function withMetrics (t: Teardown, options: BayeuxOptions = {}, metricsOptions: MetricsOptions = { processMetrics: false }): Promise<{ h: CoreHarness, metrics: BayeuxMetrics, scrape: () => Promise<Scrape> }> {
  const h = await CoreHarness.start(t, { timesync: false, ...options })
  const metrics = new BayeuxMetrics(h.core, metricsOptions)
  t.teardown(() => metrics.close())
  return { h, metrics, scrape: async () => new Scrape(await metrics.metrics()) }
}

t.test('the type of a message is its meta channel; any other channel is a publish', async t => {
  const type = (channel: string): string => MESSAGE_TYPES[messageTypeIndex(channel)]!
  t.same(['/meta/handshake', '/meta/connect', '/meta/subscribe', '/meta/unsubscribe', '/meta/disconnect'].map(type), ['handshake', 'connect', 'subscribe', 'unsubscribe', 'disconnect'])
  t.same(['/chat/room', '/service/echo', '/meta/unknown'].map(type), ['publish', 'publish', 'publish'], 'an unknown meta channel is handled (and refused) as a publish')
})

t.test('before any traffic: every series known in advance is there, at zero, and the text parses', async t => {
  const { scrape } = await withMetrics(t)
  const s = await scrape()
  for (const transport of ['websocket', 'long-polling', 'callback-polling']) {
    t.equal(s.value('bayeux_sessions', { transport }), 0, `sessions over ${transport}`)
    t.equal(s.value('bayeux_messages_delivered_total', { transport }), 0)
    for (const type of MESSAGE_TYPES) t.equal(s.value('bayeux_messages_received_total', { transport, type }), 0, `${type} over ${transport}`)
  }
  for (const reason of Object.keys(BAD_INPUT_REASONS)) t.equal(s.value('bayeux_bad_input_total', { reason }), 0, reason)
  for (const name of ['bayeux_connects_held', 'bayeux_subscriptions', 'bayeux_channels', 'bayeux_sessions_expired_total', 'bayeux_queue_overflows_total']) {
    t.equal(s.value(name), 0, name)
  }
  t.same(s.samples('bayeux_errors_total'), [], 'no error code yet')
  t.same(s.samples('bayeux_engine_operations_total'), [], 'the memory engine reports no operations')
  for (const type of MESSAGE_TYPES) t.equal(s.value('bayeux_reply_duration_seconds_count', { type }), 0, `no ${type} timed yet`)
  t.equal(s.families.get('bayeux_reply_duration_seconds')?.type, 'histogram')
  t.equal(s.families.get('bayeux_messages_received_total')?.type, 'counter')
  t.equal(s.families.get('bayeux_sessions')?.type, 'gauge')
})

t.test('messages received by transport and type, events delivered by transport, and the gauges of sessions and subscriptions', async t => {
  const { h, scrape } = await withMetrics(t)
  const polling = new FakeRequestLink({ browserId: 'b' })
  const socket = new FakePushLink()
  const poller = await h.connected(polling)
  const pusher = await h.connected(socket)
  await h.reply(socket, h.subscribe(pusher, ['/a', '/b/*']))
  await h.reply(polling, h.subscribe(poller, '/b/c'))
  // The poller's next connect is held until an event comes.
  const held = h.send(polling, [h.connect(poller)])
  await held.done

  let s = await scrape()
  t.equal(s.value('bayeux_connects_held'), 1, 'the long-polling connect is held')
  t.equal(s.value('bayeux_sessions', { transport: 'long-polling' }), 1)
  t.equal(s.value('bayeux_sessions', { transport: 'websocket' }), 1)
  t.equal(s.value('bayeux_subscriptions'), 3, '/a, /b/* and /b/c')
  t.equal(s.value('bayeux_channels'), 3)
  t.equal(s.value('bayeux_messages_received_total', { transport: 'long-polling', type: 'connect' }), 2, 'a held connect counts once it is held')

  await h.reply(polling, h.publish(poller, '/a', 1))
  await h.reply(polling, h.publish(poller, '/b/c', 2))
  await held.responder.answered
  await flushed()
  t.same(socket.pushed.map(event => event.data), [1, 2])

  s = await scrape()
  t.equal(s.value('bayeux_connects_held'), 0)
  t.equal(s.value('bayeux_messages_received_total', { transport: 'long-polling', type: 'handshake' }), 1)
  t.equal(s.value('bayeux_messages_received_total', { transport: 'long-polling', type: 'subscribe' }), 1)
  t.equal(s.value('bayeux_messages_received_total', { transport: 'long-polling', type: 'publish' }), 2)
  t.equal(s.value('bayeux_messages_received_total', { transport: 'websocket', type: 'handshake' }), 1)
  t.equal(s.value('bayeux_messages_received_total', { transport: 'websocket', type: 'connect' }), 1)
  t.equal(s.value('bayeux_messages_received_total', { transport: 'websocket', type: 'subscribe' }), 1)
  t.equal(s.value('bayeux_messages_delivered_total', { transport: 'websocket' }), 2, 'both events pushed on the socket')
  t.equal(s.value('bayeux_messages_delivered_total', { transport: 'long-polling' }), 1, '/b/c in the held connect\'s reply')
  t.equal(s.value('bayeux_reply_duration_seconds_count', { type: 'publish' }), 2)
  t.equal(s.value('bayeux_reply_duration_seconds_count', { type: 'connect' }), 3, 'the held connect was timed once, when it was held, not again when released')
  t.equal(s.value('bayeux_reply_duration_seconds_bucket', { type: 'publish', le: '+Inf' }), 2)

  await h.reply(polling, h.unsubscribe(poller, '/b/c'))
  await h.reply(polling, h.disconnect(poller))
  s = await scrape()
  t.equal(s.value('bayeux_messages_received_total', { transport: 'long-polling', type: 'unsubscribe' }), 1)
  t.equal(s.value('bayeux_messages_received_total', { transport: 'long-polling', type: 'disconnect' }), 1)
  t.equal(s.value('bayeux_sessions', { transport: 'long-polling' }), 0, 'the session is gone')
  t.equal(s.value('bayeux_subscriptions'), 2)
  t.equal(s.value('bayeux_sessions_expired_total'), 0, 'a disconnect is not an expiry')
})

t.test('bayeux_sessions: the transport of a session\'s handshake, then of its latest connect, which moves with it', async t => {
  const { h, scrape } = await withMetrics(t)
  const http = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.handshake(http)
  let s = await scrape()
  t.equal(s.value('bayeux_sessions', { transport: 'long-polling' }), 1, 'handshaken over long-polling, no connect yet')

  // The client upgrades: its connects now come over a WebSocket (C90).
  const socket = new FakePushLink({ browserId: 'b' })
  await h.reply(socket, h.connect(clientId, { connectionType: 'websocket' }))
  s = await scrape()
  t.equal(s.value('bayeux_sessions', { transport: 'long-polling' }), 0)
  t.equal(s.value('bayeux_sessions', { transport: 'websocket' }), 1)
})

t.test('bayeux_reply_duration_seconds: cumulative buckets, sum and count per type, from each message\'s duration', async t => {
  const { h, scrape } = await withMetrics(t)
  const handled = diagnosticsChannel.channel('bayeux-server:message')
  const server = h.core.reporter.server
  // Durations in ms, as the core publishes them: at a bound counts in that bound's bucket.
  for (const duration of [0.05, 0.1, 0.3, 3000]) handled.publish({ server, message: { channel: '/a' }, transport: 'long-polling', session: undefined, duration })
  handled.publish({ server, message: { channel: '/meta/subscribe' }, transport: 'long-polling', session: undefined, duration: 2 })
  const s = await scrape()
  const bucket = (le: string, type = 'publish'): number | undefined => s.value('bayeux_reply_duration_seconds_bucket', { type, le })
  t.same(['0.0001', '0.00025', '0.0005', '0.001', '2.5', '+Inf'].map(le => bucket(le)), [2, 2, 3, 3, 3, 4])
  t.equal(s.value('bayeux_reply_duration_seconds_count', { type: 'publish' }), 4)
  t.equal(s.value('bayeux_reply_duration_seconds_sum', { type: 'publish' })!.toFixed(6), '3.000450')
  t.same(['0.001', '0.0025', '+Inf'].map(le => bucket(le, 'subscribe')), [0, 1, 1])
  t.equal(s.samples('bayeux_reply_duration_seconds_bucket').length, MESSAGE_TYPES.length * 15, '14 bounds and +Inf per type')
})

t.test('bayeux_errors_total counts error replies by their three-digit code, validation failures included', async t => {
  const { h, scrape } = await withMetrics(t)
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(link)
  await h.reply(link, h.publish('not-a-session', '/a', 1))
  await h.reply(link, h.connect('not-a-session'))
  await h.reply(link, h.publish(clientId, '/a/*', 1))
  await h.ask(link, [{ id: '1', clientId }, h.publish(clientId, '/a', 1)])
  const s = await scrape()
  t.equal(s.value('bayeux_errors_total', { code: '402' }), 2, 'two messages for an unknown session')
  t.equal(s.value('bayeux_errors_total', { code: '405' }), 1, 'a publish to a wildcard (C63)')
  t.equal(s.value('bayeux_errors_total', { code: '400' }), 1, 'a message without a channel (C06)')
  t.equal(s.value('bayeux_bad_input_total', { reason: 'invalid_message' }), 1, 'whose payload counts once as bad input')
  t.equal(s.sum('bayeux_errors_total'), 4, 'successful replies are not counted')
})

t.test('bad input by reason, as transports report it', async t => {
  const { h, scrape } = await withMetrics(t)
  const source = { transport: 'websocket', remoteAddress: '192.0.2.9' }
  h.core.badInput(source, 'not_json', 'frame is not JSON')
  h.core.badInput(source, 'not_json', 'frame is not JSON')
  h.core.badInput(source, 'binary_frame', 'binary frame')
  const s = await scrape()
  t.equal(s.value('bayeux_bad_input_total', { reason: 'not_json' }), 2)
  t.equal(s.value('bayeux_bad_input_total', { reason: 'binary_frame' }), 1)
  t.equal(s.sum('bayeux_bad_input_total'), 3)
})

t.test('expired sessions, and queue overflows with either policy', async t => {
  await t.test('expiry', async t => {
    const { h, scrape } = await withMetrics(t)
    const clientId = await h.handshake(new FakeRequestLink({ browserId: 'b' }))
    h.core.registry.remove(h.session(clientId), 'expired')
    t.equal((await scrape()).value('bayeux_sessions_expired_total'), 1)
  })

  await t.test('drop-oldest: each overflow counts, the session lives on', async t => {
    const { h, scrape } = await withMetrics(t, { maxQueue: 1, queueOverflow: 'drop-oldest' })
    const subscriber = new FakeRequestLink({ browserId: 's' })
    const clientId = await h.connected(subscriber)
    await h.reply(subscriber, h.subscribe(clientId, '/a'))
    for (let i = 0; i < 3; i++) await h.core.publisher.broadcast({ channel: '/a', data: i }, h.core.channels.parse('/a')!, undefined, undefined)
    const s = await scrape()
    t.equal(s.value('bayeux_queue_overflows_total'), 2)
    t.equal(s.value('bayeux_sessions', { transport: 'long-polling' }), 1)
  })

  await t.test('disconnect: the overflow ends the session, and counts once', async t => {
    const { h, scrape } = await withMetrics(t, { maxQueue: 1 })
    const subscriber = new FakeRequestLink({ browserId: 's' })
    const clientId = await h.connected(subscriber)
    await h.reply(subscriber, h.subscribe(clientId, '/a'))
    for (let i = 0; i < 3; i++) await h.core.publisher.broadcast({ channel: '/a', data: i }, h.core.channels.parse('/a')!, undefined, undefined)
    const s = await scrape()
    t.equal(s.value('bayeux_queue_overflows_total'), 1)
    t.equal(s.value('bayeux_sessions', { transport: 'long-polling' }), 0)
    t.equal(s.value('bayeux_sessions_expired_total'), 0)
  })
})

t.test('engine operations and failures: the hook a Redis engine publishes on', async t => {
  const { h, scrape } = await withMetrics(t)
  const engineChannel = diagnosticsChannel.channel('bayeux-server:engine')
  engineChannel.publish({ engine: h.core.engine, operation: 'publish' })
  engineChannel.publish({ engine: h.core.engine, operation: 'publish', error: new Error('connection reset') })
  engineChannel.publish({ engine: h.core.engine, operation: 'subscribe' })
  engineChannel.publish({ engine: {}, operation: 'publish' })
  const s = await scrape()
  t.equal(s.value('bayeux_engine_operations_total', { operation: 'publish' }), 2, 'another engine\'s operation is not counted')
  t.equal(s.value('bayeux_engine_operations_total', { operation: 'subscribe' }), 1)
  t.equal(s.value('bayeux_engine_failures_total', { operation: 'publish' }), 1)
  t.equal(s.value('bayeux_engine_failures_total', { operation: 'subscribe' }), undefined)
})

t.test('destroys an engine keeps for a retry: read from the engine at scrape time', async t => {
  const { scrape } = await withMetrics(t)
  t.equal((await scrape()).value('bayeux_engine_destroys_pending'), 0, 'none with the memory engine')
  class Pending extends MemoryEngine {
    pendingDestroys = 3
  }
  const engine = new Pending()
  const { scrape: scrapeOther } = await withMetrics(t, { engine })
  t.equal((await scrapeOther()).value('bayeux_engine_destroys_pending'), 3)
  engine.pendingDestroys = 0
  t.equal((await scrapeOther()).value('bayeux_engine_destroys_pending'), 0)
})

t.test('the metrics of one server never count another server of the same process', async t => {
  const { scrape } = await withMetrics(t)
  const other = await CoreHarness.start(t, { timesync: false, maxQueue: 1 })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await other.connected(link)
  await other.reply(link, other.subscribe(clientId, '/a'))
  await other.reply(link, other.publish('unknown', '/a', 1))
  other.core.badInput({ transport: 'websocket', remoteAddress: undefined }, 'not_json', 'frame is not JSON')
  for (let i = 0; i < 2; i++) await other.core.publisher.broadcast({ channel: '/a', data: i }, other.core.channels.parse('/a')!, undefined, undefined)
  const s = await scrape()
  t.equal(s.sum('bayeux_messages_received_total'), 0)
  t.equal(s.sum('bayeux_sessions'), 0)
  t.equal(s.sum('bayeux_errors_total'), 0)
  t.equal(s.sum('bayeux_bad_input_total'), 0)
  t.equal(s.value('bayeux_queue_overflows_total'), 0)
  t.equal(s.sum('bayeux_messages_delivered_total'), 0)
})

t.test('after close() nothing more is counted; process metrics come with prom-client\'s defaults', async t => {
  const { h, metrics, scrape } = await withMetrics(t, {}, {})
  const link = new FakeRequestLink({ browserId: 'b' })
  await h.handshake(link)
  metrics.close()
  metrics.close()
  await h.handshake(link)
  const s = await scrape()
  t.equal(s.value('bayeux_messages_received_total', { transport: 'long-polling', type: 'handshake' }), 1)
  t.equal(s.sum('bayeux_sessions'), 2, 'gauges still read the core')
  t.ok(s.families.has('process_cpu_seconds_total'), 'CPU')
  t.ok(s.families.has('process_resident_memory_bytes'), 'memory')
  t.ok(s.families.has('nodejs_eventloop_lag_seconds'), 'event-loop lag')
  t.ok(s.families.has('nodejs_gc_duration_seconds'), 'GC')
  t.equal(metrics.contentType, 'text/plain; version=0.0.4; charset=utf-8')
})

t.test('no metrics, no cost: the core publishes these events only while someone listens', async t => {
  const h = await CoreHarness.start(t, { timesync: false })
  const channels = ['message', 'reply', 'deliver', 'queue:overflow'].map(name => diagnosticsChannel.channel(`bayeux-server:${name}`))
  t.same(channels.map(channel => channel.hasSubscribers), [false, false, false, false])
  const metrics = new BayeuxMetrics(h.core, { processMetrics: false })
  t.same(channels.map(channel => channel.hasSubscribers), [true, true, true, true])
  metrics.close()
  t.same(channels.map(channel => channel.hasSubscribers), [false, false, false, false])
})
