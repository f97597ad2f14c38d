/**
 * The replay extension in the core (lib/server/replay.ts, handlers.ts), through fake
 * links on the memory engine: the handshake offer, subscribe with -1, -2 and N, the
 * invalid-id error, where the id travels, the seam, wildcards, policy and bad input
 * (docs/replay.md).
 */
import { EventEmitter } from 'node:events'
import t from 'tap'
import * as diagnostics from '../../lib/diagnostics.ts'
import type { Engine, EngineHost } from '../../lib/engines/engine.ts'
import { MemoryEngine } from '../../lib/engines/memory.ts'
import { BayeuxServerError } from '../../lib/errors.ts'
import type { EventMessage, Message } from '../../lib/protocol/message.ts'
import { BayeuxServer } from '../../lib/server/bayeux-server.ts'
import { ServerCore } from '../../lib/server/core.ts'
import { replayIdInvalid } from '../../lib/protocol/wire-errors.ts'
import { CoreHarness, flushed } from '../support/core-harness.ts'
import { FakePushLink, FakeRequestLink } from '../support/fake-links.ts'

const handshake = (extra: Partial<Message> = {}): Message => ({ id: 'h', channel: '/meta/handshake', version: '1.0', ...extra })

/** A session whose events are pushed to a fake WebSocket. */
async function client (h: CoreHarness): Promise<{ link: FakePushLink, clientId: string }> {
  const link = new FakePushLink()
  return { link, clientId: await h.connected(link) }
}

/** Subscribes with `ext.replay` = `replay`; the reply. */
async function subscribe (h: CoreHarness, c: { link: FakePushLink, clientId: string }, channel: string, replay?: unknown) {
  return h.reply(c.link, h.subscribe(c.clientId, channel, replay === undefined ? {} : { ext: { replay } }))
}

/** Publishes `data` from the server, one after the other. */
async function publishAll (h: CoreHarness, channel: string, values: unknown[]): Promise<void> {
  const publisher = await client(h)
  for (const data of values) {
    const reply = await h.reply(publisher.link, h.publish(publisher.clientId, channel, data))
    if (!reply.successful) throw new Error(reply.error)
  }
}

const ids = (events: EventMessage[]): number[] => events.map(event => (event.ext?.['replay'] as { id: number }).id)
const dataOf = (events: EventMessage[]): unknown[] => events.map(event => event.data)

t.test('the handshake says replay: true only when some channel keeps history', async t => {
  const on = await CoreHarness.start(t, { timesync: false, history: ['/h/**'] })
  t.same((await on.reply(new FakeRequestLink(), handshake())).ext, { replay: true })
  t.same((await on.reply(new FakeRequestLink(), handshake({ ext: { ack: true } }))).ext, { ack: true, replay: true })
  const off = await CoreHarness.start(t, { timesync: false })
  t.notOk('ext' in await off.reply(new FakeRequestLink(), handshake()))
})

t.test('-2 replays every kept event in order, then live ones; -1 and no entry only live ones', async t => {
  const h = await CoreHarness.start(t, { timesync: false, history: ['/h/**'] })
  await publishAll(h, '/h/a', [1, 2, 3])
  const all = await client(h)
  const reply = await subscribe(h, all, '/h/a', { '/h/a': -2, '/other': 5 })
  t.same(reply, { id: reply.id, channel: '/meta/subscribe', successful: true, subscription: '/h/a' })
  t.same(all.link.pushed, [], 'the replay goes out after the subscribe reply')
  const latest = await client(h)
  await subscribe(h, latest, '/h/a', { '/h/a': -1 })
  const none = await client(h)
  await subscribe(h, none, '/h/a', { '/h/b': -2 })
  await flushed()
  await publishAll(h, '/h/a', [4])
  await flushed()
  t.same(dataOf(all.link.pushed), [1, 2, 3, 4])
  const replayIds = ids(all.link.pushed)
  t.ok(replayIds.every((id, i) => Number.isSafeInteger(id) && id > 0 && (i === 0 || id > replayIds[i - 1]!)), `ids increase: ${replayIds.join(', ')}`)
  t.same(dataOf(latest.link.pushed), [4])
  t.same(dataOf(none.link.pushed), [4])
  t.same(ids(latest.link.pushed), [replayIds[3]], 'live events carry their id too')
})

t.test('N replays what came after N; N itself need not be kept; a gap or an id never issued is refused', async t => {
  const h = await CoreHarness.start(t, { timesync: false, history: ['/h/*'], historySize: 3 })
  const keptIds = async (): Promise<number[]> => (await h.core.engine.history('/h/a', undefined, 10))!.map(event => event.replayId!)
  await publishAll(h, '/h/a', [1, 2, 3])
  const [first, second] = await keptIds() as [number, number]
  // Ids follow the clock in µs: once it has ticked, the next id leaves a gap of ids never issued.
  const tick = Date.now()
  while (Date.now() === tick) await flushed()
  await publishAll(h, '/h/a', [4, 5])
  const kept = await keptIds()
  t.equal(kept.length, 3, 'historySize bounds the history')
  const [third, fourth, fifth] = kept as [number, number, number]

  const resume = async (from: unknown): Promise<{ error: string | undefined, data: unknown[] }> => {
    const c = await client(h)
    const reply = await subscribe(h, c, '/h/a', { '/h/a': from })
    await flushed()
    return { error: reply.error, data: dataOf(c.link.pushed) }
  }
  t.same(await resume(fourth), { error: undefined, data: [5] })
  t.same(await resume(String(third)), { error: undefined, data: [4, 5] }, 'a numeric string works as well')
  t.same(await resume(fifth), { error: undefined, data: [] }, 'the latest: nothing to replay')
  t.same(await resume(second), { error: undefined, data: [3, 4, 5] }, 'the last event dropped: nothing after it is missing')
  t.same(await resume(first), { error: replayIdInvalid(first), data: [] }, 'an event after it was dropped to make room')
  t.same(await resume(fifth + 1), { error: replayIdInvalid(fifth + 1), data: [] }, 'beyond the latest')
  t.same(await resume(fourth - 1), { error: replayIdInvalid(fourth - 1), data: [] }, 'between two ids: never issued')
  t.equal(replayIdInvalid(7), '400::The replayId {7} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.')

  const refused = await client(h)
  await subscribe(h, refused, '/h/a', { '/h/a': 1 })
  await publishAll(h, '/h/a', [6])
  await flushed()
  t.same(refused.link.pushed, [], 'a refused subscribe leaves no subscription')
  t.same([...h.session(refused.clientId).subscriptions], [])
})

t.test('the envelope: data.event.replayId, data.event.createdDate and data.payload, for every subscriber', async t => {
  const h = await CoreHarness.start(t, { timesync: false, replayEnvelope: ['/event/*'] })
  const live = await client(h)
  await subscribe(h, live, '/event/A')
  const before = Date.now()
  await publishAll(h, '/event/A', [{ x: 1 }])
  await flushed()
  const [event] = live.link.pushed as [EventMessage]
  const envelope = event.data as { event: { replayId: number, createdDate: string }, payload: unknown }
  t.same(envelope.payload, { x: 1 })
  t.ok(Number.isSafeInteger(envelope.event.replayId))
  t.ok(Date.parse(envelope.event.createdDate) >= before - 1 && envelope.event.createdDate.endsWith('Z'), envelope.event.createdDate)
  t.notOk('ext' in event, 'no ext.replay on envelope channels')
  const [entry] = (await h.core.engine.history('/event/A', undefined, 10))!
  t.same(entry.message, event, 'the history holds the event as delivered')
})

/**
 * A memory engine whose history reads pause twice, on promises the test resolves:
 * before reading (publishes then are live and in the history) and after (publishes
 * then are live only), as a read through Redis races with live traffic.
 */
class SlowHistory {
  readonly engine = new MemoryEngine()
  readonly pauses: Array<() => void> = []

  constructor () {
    const read = this.engine.history.bind(this.engine)
    const engine: Engine = this.engine
    engine.history = async (pattern, after, limit) => {
      await this.#pause()
      const events = read(pattern, after, limit)
      await this.#pause()
      return events
    }
  }

  /** Resolves once reads paused `count` times in all. */
  async paused (count: number): Promise<void> {
    while (this.pauses.length < count) await flushed()
  }

  async #pause (): Promise<void> {
    await new Promise<void>(resolve => this.pauses.push(resolve))
  }
}

t.test('the seam: replayed events first, then live ones, none twice, none lost, while publishes go on', async t => {
  const slow = new SlowHistory()
  const h = await CoreHarness.start(t, { timesync: false, history: ['/h/**'], engine: slow.engine })
  const publisher = await client(h)
  const publish = async (data: number): Promise<void> => { await h.reply(publisher.link, h.publish(publisher.clientId, '/h/a', data)) }
  for (const i of [1, 2, 3]) await publish(i)
  const other = await client(h)
  await subscribe(h, other, '/h/other')
  const c = await client(h)
  const replying = subscribe(h, c, '/h/a', { '/h/a': -2 })
  await slow.paused(1)
  await publish(4) // subscribed, not yet read: live, and in the history too
  await h.core.publisher.broadcast({ channel: '/h/other', data: 'elsewhere' }, h.core.channels.parse('/h/other')!, undefined, undefined)
  slow.pauses[0]!()
  await slow.paused(2)
  await publish(5) // read already: live only
  t.same(c.link.pushed, [], 'live events wait while the replay is read')
  slow.pauses[1]!()
  t.match(await replying, { successful: true })
  await publish(6)
  await flushed()
  t.same(dataOf(c.link.pushed), [1, 2, 3, 4, 5, 6], 'in order, each once')
  t.same(dataOf(other.link.pushed), ['elsewhere'], 'another session is not held up')
})

t.test('a subscribe refused after its engine subscription drops what waited for it alone', async t => {
  const slow = new SlowHistory()
  const h = await CoreHarness.start(t, { timesync: false, history: ['/h/**'], engine: slow.engine })
  const publisher = await client(h)
  await h.reply(publisher.link, h.publish(publisher.clientId, '/h/a', 1))
  const c = await client(h)
  await subscribe(h, c, '/h/**')
  const refusing = subscribe(h, c, '/h/b', { '/h/b': 1 })
  await slow.paused(1)
  await h.reply(publisher.link, h.publish(publisher.clientId, '/h/b', 'via the wildcard'))
  slow.pauses[0]!()
  await slow.paused(2)
  slow.pauses[1]!()
  t.match(await refusing, { successful: false, error: replayIdInvalid(1) })
  await flushed()
  t.same(dataOf(c.link.pushed), ['via the wildcard'], 'kept: the session\'s wildcard wants it, once')
  t.same([...h.session(c.clientId).subscriptions], ['/h/**'])
})

t.test('wildcards: -2 replays every matching channel in publish order; N is refused', async t => {
  const h = await CoreHarness.start(t, { timesync: false, history: ['/w/**'] })
  const publisher = await client(h)
  for (const [channel, data] of [['/w/a', 1], ['/w/b', 2], ['/w/a/deep', 3], ['/w/a', 4]] as const) {
    await h.reply(publisher.link, h.publish(publisher.clientId, channel, data))
  }
  const one = await client(h)
  await subscribe(h, one, '/w/*', { '/w/*': -2 })
  const deep = await client(h)
  await subscribe(h, deep, '/w/**', { '/w/**': -2 })
  await flushed()
  t.same(dataOf(one.link.pushed), [1, 2, 4])
  t.same(dataOf(deep.link.pushed), [1, 2, 3, 4])
  const id = ids(one.link.pushed)[0]!
  const resuming = await client(h)
  t.match(await subscribe(h, resuming, '/w/*', { '/w/*': id }), { successful: false, error: replayIdInvalid(id) })
  t.same([...h.session(resuming.clientId).subscriptions], [])
})

t.test('a channel without history: -2 subscribes with nothing to replay, N was never issued', async t => {
  const h = await CoreHarness.start(t, { timesync: false, history: ['/h/**'] })
  const c = await client(h)
  t.match(await subscribe(h, c, '/plain', { '/plain': -2 }), { successful: true })
  t.match(await subscribe(h, c, '/plain2', { '/plain2': 12 }), { successful: false, error: replayIdInvalid(12) })
  const publisher = await client(h)
  await h.reply(publisher.link, h.publish(publisher.clientId, '/plain', 'live'))
  await flushed()
  t.same(c.link.pushed, [{ channel: '/plain', data: 'live' }], 'no replay id on channels without history')
})

t.test('a subscribe to a channel the session has already changes nothing, replay included', async t => {
  const h = await CoreHarness.start(t, { timesync: false, history: ['/h/**'] })
  const c = await client(h)
  await subscribe(h, c, '/h/a')
  const publisher = await client(h)
  await h.reply(publisher.link, h.publish(publisher.clientId, '/h/a', 1))
  await subscribe(h, c, '/h/a', { '/h/a': -2 })
  await flushed()
  t.same(dataOf(c.link.pushed), [1])
})

t.test('the policy and authorizers decide before any replay', async t => {
  const h = await CoreHarness.start(t, {
    timesync: false,
    history: ['/h/**'],
    policy: { canSubscribe: (_session, channel) => channel !== '/h/secret' }
  })
  h.core.authorizers.add('/h/private', { canSubscribe: () => false })
  const publisher = await client(h)
  for (const channel of ['/h/secret', '/h/private', '/h/open']) await h.reply(publisher.link, h.publish(publisher.clientId, channel, channel))
  const c = await client(h)
  t.match(await subscribe(h, c, '/h/secret', { '/h/secret': -2 }), { successful: false, error: '403:denied_by_security_policy:subscribe_denied' })
  t.match(await subscribe(h, c, '/h/private', { '/h/private': -2 }), { successful: false, error: '403:denied_by_authorizer:subscribe_denied' })
  t.match(await subscribe(h, c, '/h/*', { '/h/*': -2 }), { successful: true })
  await flushed()
  t.same(dataOf(c.link.pushed), ['/h/secret', '/h/open'], 'a wildcard replay leaves out what authorizers refuse, as live delivery does')
})

t.test('bad input in ext.replay refuses that subscribe, logged once at warn; nobody else is disturbed', async t => {
  const h = await CoreHarness.start(t, { timesync: false, history: ['/h/**'], maxSubscriptionsPerSession: 3 })
  const bystander = await client(h)
  await subscribe(h, bystander, '/h/a')
  const c = await client(h)
  const huge = Object.fromEntries(['/h/1', '/h/2', '/h/3', '/h/4'].map(channel => [channel, -1]))
  const cases: Array<[unknown, string]> = [
    ['all', '400:ext.replay:invalid_field'],
    [[-2], '400:ext.replay:invalid_field'],
    [null, '400:ext.replay:invalid_field'],
    [huge, '400:ext.replay:invalid_field'],
    [{ '/h/a': 'abc' }, '400:ext.replay:invalid_field'],
    [{ '/h/a': 1.5 }, '400:ext.replay:invalid_field'],
    [{ '/h/a': true }, '400:ext.replay:invalid_field'],
    [{ '/h/a': null }, '400:ext.replay:invalid_field'],
    [{ '/h/a': '1e3' }, '400:ext.replay:invalid_field'],
    [{ '/h/a': 0 }, replayIdInvalid(0)],
    [{ '/h/a': -3 }, replayIdInvalid(-3)]
  ]
  const reported: unknown[] = []
  const onBadInput = (event: unknown): void => { reported.push(event) }
  diagnostics.badInput.subscribe(onBadInput)
  t.teardown(() => diagnostics.badInput.unsubscribe(onBadInput))
  for (const [replay, error] of cases) {
    const before = h.log.at('warn').length
    t.match(await subscribe(h, c, '/h/a', replay), { successful: false, error }, JSON.stringify(replay))
    t.equal(h.log.at('warn').length, before + 1, 'one warning')
  }
  t.match(h.log.at('warn')[0], { object: { clientId: c.clientId, reason: 'invalid_replay' }, message: /subscribe refused: ext\.replay is not an object/ })
  t.equal(reported.length, cases.length, 'each refusal is on the bad-input diagnostics channel')
  t.match(reported[0], { reason: 'invalid_replay', clientId: c.clientId, subscription: '/h/a' })
  t.same([...h.session(c.clientId).subscriptions], [], 'no subscription made')
  t.match(await subscribe(h, c, '/h/b', { '/h/other': 'garbage' }), { successful: true }, 'an entry of another channel is not looked at')
  const publisher = await client(h)
  await h.reply(publisher.link, h.publish(publisher.clientId, '/h/a', 'still here'))
  await flushed()
  t.same(dataOf(bystander.link.pushed), ['still here'])
})

t.test('without history, ext.replay is not looked at', async t => {
  const h = await CoreHarness.start(t, { timesync: false })
  const c = await client(h)
  t.match(await subscribe(h, c, '/a', 'garbage'), { successful: true })
  t.match(await subscribe(h, c, '/b', { '/b': 5 }), { successful: true })
  t.same(h.log.at('warn'), [])
})

t.test('history options: patterns of broadcast channels only', async t => {
  for (const pattern of ['/meta/x', '/service/**', '/a/*/b', 'a']) {
    t.throws(() => new ServerCore({ history: [pattern] }, new EventEmitter()), { code: 'BAYEUX_ERR_INVALID_OPTIONS' }, pattern)
  }
  t.throws(() => new ServerCore({ replayEnvelope: ['/meta/**'] }, new EventEmitter()), { code: 'BAYEUX_ERR_INVALID_OPTIONS', message: /replayEnvelope/ })
  const { history, ...older } = new MemoryEngine()
  void history
  t.throws(() => new ServerCore({ history: ['/h/**'], engine: older as Engine }, new EventEmitter()), { code: 'BAYEUX_ERR_INVALID_OPTIONS', message: /engine that keeps history/ }, 'an engine without history')
})

t.test('a subscribe to several channels replays each from its own entry', async t => {
  const h = await CoreHarness.start(t, { timesync: false, history: ['/h/**'] })
  const publisher = await client(h)
  for (const [channel, data] of [['/h/a', 'a1'], ['/h/b', 'b1'], ['/h/a', 'a2'], ['/h/c', 'c1']] as const) {
    await h.reply(publisher.link, h.publish(publisher.clientId, channel, data))
  }
  const c = await client(h)
  const [a1] = (await h.core.engine.history('/h/a', undefined, 10))!
  t.match(await subscribe(h, c, ['/h/a', '/h/b', '/h/c'] as unknown as string, { '/h/a': a1!.replayId, '/h/b': -2 }), { successful: true })
  await flushed()
  t.same(dataOf(c.link.pushed), ['a2', 'b1'], '/h/a after a1, /h/b all, /h/c new only')
})

t.test('bayeux.history: server publishes get ids; pages with after and limit; refusals', async t => {
  const bayeux = new BayeuxServer({ history: ['/h/**'], replayEnvelope: ['/event/*'], historySize: 5 })
  await bayeux.start()
  t.teardown(() => bayeux.close())
  for (let i = 1; i <= 7; i++) await bayeux.publish('/h/a', i, i === 7 ? { trace: 'x' } : undefined)
  await bayeux.publish('/event/E', { v: 1 })
  const all = await bayeux.history('/h/a')
  t.same(all.map(entry => entry.message.data), [3, 4, 5, 6, 7], 'the last historySize events, oldest first')
  t.same(all[4]!.message, { channel: '/h/a', data: 7, ext: { trace: 'x', replay: { id: all[4]!.id } } }, 'as subscribers get them, other ext members kept')
  t.same((await bayeux.history('/h/a', { limit: 2 })).map(entry => entry.id), all.slice(0, 2).map(entry => entry.id))
  t.same((await bayeux.history('/h/a', { after: all[1]!.id, limit: 2 })).map(entry => entry.message.data), [5, 6], 'paging on from an id')
  t.same((await bayeux.history('/**', { limit: 10 })).map(entry => entry.message.channel), ['/h/a', '/h/a', '/h/a', '/h/a', '/h/a', '/event/E'], 'a wildcard, in publish order')
  const [envelope] = await bayeux.history('/event/E')
  t.match(envelope!.message.data, { event: { replayId: envelope!.id }, payload: { v: 1 } })

  await t.rejects(bayeux.history('/plain'), { code: 'BAYEUX_ERR_INVALID_CHANNEL' }, 'a channel without history')
  await t.rejects(bayeux.history('/meta/connect'), { code: 'BAYEUX_ERR_INVALID_CHANNEL' })
  await t.rejects(bayeux.history('/h/a', { after: 1 }), { code: 'BAYEUX_ERR_HISTORY_GAP' }, 'events after it were dropped')
  await t.rejects(bayeux.history('/h/a', { after: all[4]!.id + 1 }), { code: 'BAYEUX_ERR_HISTORY_GAP' }, 'never issued')
  for (const options of [{ after: 0 }, { after: 1.5 }, { limit: 0 }]) await t.rejects(bayeux.history('/h/a', options), { code: 'BAYEUX_ERR_INVALID_OPTIONS' }, JSON.stringify(options))
  await t.rejects(bayeux.history('/h/*', { after: all[0]!.id }), { code: 'BAYEUX_ERR_INVALID_OPTIONS' }, 'after on a wildcard')
  const off = new BayeuxServer()
  await t.rejects(off.history('/h/a'), { code: 'BAYEUX_ERR_INVALID_CHANNEL' }, 'no history at all')
})

t.test('a session taken over by another node during its replay takes its seam along; the replay is sent after it', async t => {
  const slow = new SlowHistory()
  const forwarded: unknown[] = []
  const engine: Engine = slow.engine
  engine.replayed = (_sessionId, events, abandoned) => { forwarded.push(...events.map(event => (event.message as EventMessage).data), abandoned) }
  const h = await CoreHarness.start(t, { timesync: false, history: ['/h/**'], engine: slow.engine })
  const publisher = await client(h)
  for (const data of [1, 2]) await h.reply(publisher.link, h.publish(publisher.clientId, '/h/a', data))
  const c = await client(h)
  const replying = subscribe(h, c, '/h/a', { '/h/a': -2 })
  await slow.paused(1)
  await h.reply(publisher.link, h.publish(publisher.clientId, '/h/a', 3))
  const state = h.core.registry.release(c.clientId)
  t.same(state?.seam && { ...state.seam, held: state.seam.held.map(event => (event.message as EventMessage).data) }, { replays: 1, held: [3], replayed: {} },
    'another node takes the session (EngineHost.release) with its seam: one replay being read, the live event waiting for it')
  slow.pauses[0]!()
  await slow.paused(2)
  slow.pauses[1]!()
  await replying
  await flushed()
  t.same(forwarded, [1, 2, 3, false], 'the replay goes after the session, whole, and nothing else')
  t.same(c.link.pushed, [])
})

t.test('a session that moved here during its replay holds live events until the replay arrives, then drops those it held', async t => {
  const memory = new MemoryEngine()
  let host!: EngineHost
  const start = memory.start.bind(memory)
  const engine: Engine = memory
  engine.start = started => { host = started; return start(started) }
  const h = await CoreHarness.start(t, { timesync: false, history: ['/h/**'], engine: memory })
  await publishAll(h, '/h/a', [1, 2])
  const kept = (await memory.history('/h/a', undefined, 10))!
  const c = await client(h)
  await subscribe(h, c, '/h/a')
  // As a node hands it over: a replay still read there, and the live event 2 that waited for it there.
  h.session(c.clientId).restore({ queued: [], connected: true, transport: undefined, attributes: {}, seam: { replays: 1, held: [kept[1]!], replayed: {} } })
  await publishAll(h, '/h/a', [3])
  await flushed()
  t.same(c.link.pushed, [], 'live events wait for the replay')
  host.replayed(c.clientId, kept, false)
  await flushed()
  t.same(dataOf(c.link.pushed), [1, 2, 3], 'the replay, then the live events it did not hold')
})

t.test('a history publish that cannot become JSON is refused before it gets an id', async t => {
  const bayeux = new BayeuxServer({ history: ['/h/**'], replayEnvelope: ['/event/*'] })
  await bayeux.start()
  t.teardown(() => bayeux.close())
  await t.rejects(bayeux.publish('/h/a', { n: 1n }), { code: 'BAYEUX_ERR_INVALID_DATA' })
  await t.rejects(bayeux.publish('/event/E', { n: 1n }), { code: 'BAYEUX_ERR_INVALID_DATA' })
  t.same(await bayeux.history('/h/a'), [], 'nothing kept')
})

t.test('the engine failing during a replay fails that subscribe, and takes the subscription back', async t => {
  const memory = new MemoryEngine()
  const engine: Engine = memory
  engine.history = () => { throw new BayeuxServerError('BAYEUX_ERR_ENGINE_UNAVAILABLE', 'Redis is away') }
  const h = await CoreHarness.start(t, { timesync: false, history: ['/h/**'], engine: memory })
  const c = await client(h)
  t.match(await subscribe(h, c, '/h/a', { '/h/a': -2 }), { successful: false, error: '503::engine_unavailable' })
  t.same([...h.session(c.clientId).subscriptions], [])
  await subscribe(h, c, '/h/b')
  const publisher = await client(h)
  await h.reply(publisher.link, h.publish(publisher.clientId, '/h/a', 'not subscribed'))
  await h.reply(publisher.link, h.publish(publisher.clientId, '/h/b', 'after'))
  await flushed()
  t.same(dataOf(c.link.pushed), ['after'], 'live events flow again, and only where subscribed')
})
