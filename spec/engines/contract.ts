/**
 * The engine contract kit: what every Engine must do for the protocol core
 * (lib/engines/engine.ts). Run it from an engine's test file:
 *   engineContract(t, () => new MemoryEngine())
 *   engineContract(t, () => new RedisEngine({ prefix }), { nodes: true })
 * Every call is awaited, and deliveries are awaited too, so engines whose delivery
 * reaches the host asynchronously (through a broker) pass as well as synchronous ones.
 * With `nodes`, each call of the factory is another node of one cluster, and the
 * multi-node part runs too: sessions found, taken over and reached across nodes.
 */
import type { Test } from 'tap'
import type { ClaimedSession, Engine, EngineHost, HistoryLimits, RemoteSession, SeamState, SessionState } from '../../lib/engines/engine.ts'
import { ChannelParser } from '../../lib/protocol/channel.ts'
import { HistoricEvent } from '../../lib/protocol/historic-event.ts'
import type { ReplayForm } from '../../lib/protocol/historic-event.ts'
import { OutgoingEvent } from '../../lib/protocol/outgoing-event.ts'
import { delay } from '../helpers.ts'

/** Every live session of a harness is subscribed here, to learn when deliveries have settled. */
const FENCE = '/contract/fence'

const parser = new ChannelParser({ maxLength: 512, maxDepth: 32 })

/** Harnesses made so far: names their fences apart. */
let harnesses = 0

/** Publisher ids enough for an engine that spreads publishers over a few buses to use every one. */
const PUBLISHERS = Array.from({ length: 8 }, (_, i) => `publisher-${i}`)

/**
 * Whether `received` holds each of `sent` once, each publisher's in the order it
 * published them (C70); `publisherOf` says which publisher sent a value.
 */
function inPublisherOrder (received: readonly unknown[], sent: readonly number[], publisherOf: (value: number) => string): boolean {
  if (received.length !== sent.length || [...received].sort((a, b) => Number(a) - Number(b)).some((value, i) => value !== sent[i])) return false
  const last = new Map<string, number>()
  for (const value of received as number[]) {
    if ((last.get(publisherOf(value)) ?? -1) > value) return false
    last.set(publisherOf(value), value)
  }
  return true
}

interface Delivery { sessionId: string, event: OutgoingEvent }

/**
 * An engine started on a recording host, with the steps the tests are made of. Like
 * the core, the host keeps a queue per session it holds, and hands it over when
 * another node takes the session.
 */
class Harness implements EngineHost {
  readonly maxInterval = 10_000
  readonly timeout = 30_000
  readonly engine: Engine
  readonly history: HistoryLimits
  readonly deliveries: Delivery[] = []
  readonly queues = new Map<string, OutgoingEvent[]>()
  readonly subscriptionChanges: string[] = []
  readonly ended: Array<[string, string]> = []
  readonly orphansEnded: Array<[string, string, boolean, string[]]> = []
  readonly touched: string[] = []
  /** Replays sent after sessions that moved here (EngineHost.replayed): session, data, abandoned. */
  readonly replays: Array<[string, unknown[], boolean]> = []
  /** The seams sessions hand over when they move (SessionState.seam). */
  readonly seams = new Map<string, SeamState>()
  readonly #live = new Set<string>()
  /** Publishers this harness published for; undefined: the server itself. */
  readonly #publishers = new Set<string | undefined>([undefined])
  readonly #name = `h${++harnesses}`
  #fences = 0

  constructor (engine: Engine, history: HistoryLimits) {
    this.engine = engine
    this.history = history
  }

  deliver (sessionId: string, event: OutgoingEvent): void {
    this.deliveries.push({ sessionId, event })
    this.queues.get(sessionId)?.push(event)
  }

  release (sessionId: string): SessionState | undefined {
    const queued = this.queues.get(sessionId)
    if (queued === undefined) return undefined
    this.queues.delete(sessionId)
    this.#live.delete(sessionId)
    const seam = this.seams.get(sessionId)
    return { queued, connected: true, interval: 0, transport: 'long-polling', attributes: { moved: true }, ...(seam !== undefined && { seam }) }
  }

  touch (sessionId: string): void {
    this.touched.push(sessionId)
  }

  replayed (sessionId: string, events: readonly OutgoingEvent[], abandoned: boolean): void {
    this.replays.push([sessionId, dataOf(events), abandoned])
  }

  subscribed (sessionId: string, pattern: string): void {
    this.subscriptionChanges.push(`+${sessionId} ${pattern}`)
  }

  unsubscribed (sessionId: string, pattern: string): void {
    this.subscriptionChanges.push(`-${sessionId} ${pattern}`)
  }

  endSession (sessionId: string, reason: string): void {
    this.ended.push([sessionId, reason])
  }

  orphanEnded (sessionId: string, session: RemoteSession, reason: string): void {
    this.orphansEnded.push([sessionId, reason, session.record.ack, [...session.subscriptions].sort()])
  }

  statusChanged (): void {}

  destroysPending (): void {}

  warn (message: string, error: unknown): void {
    throw new Error(`the engine warned: ${message}`, { cause: error })
  }

  /** Takes a session over from another node; it is live here from now on. */
  async claim (id: string, socket = false): Promise<ClaimedSession | undefined> {
    const claimed = await this.engine.claim(id, { socket })
    if (claimed !== undefined) {
      this.queues.set(id, [...claimed.state?.queued ?? []])
      this.#live.add(id)
    }
    return claimed
  }

  /** Creates a session, subscribed to `patterns` (and to the fence). */
  async session (id: string, ...patterns: string[]): Promise<string> {
    this.queues.set(id, [])
    await this.engine.createSession(id, { ack: false, browserId: `browser-of-${id}`, attributes: { name: id } })
    await this.engine.subscribe(id, FENCE)
    for (const pattern of patterns) await this.engine.subscribe(id, pattern)
    this.#live.add(id)
    return id
  }

  async destroy (id: string): Promise<void> {
    await this.engine.destroySession(id)
    this.#live.delete(id)
    this.queues.delete(id)
  }

  /**
   * Starts a publish on `channel` (a concrete channel name), by the session `publisher`
   * or by the server itself; await the result to finish it.
   */
  publish (channel: string, data: unknown = null, publisher?: string): { event: OutgoingEvent, done: Promise<void> } {
    const event = new OutgoingEvent({ channel, data })
    this.#publishers.add(publisher)
    return { event, done: Promise.resolve(this.engine.publish(event, parser.parse(channel)!.expansion, publisher)) }
  }

  /** Publishes on a channel that keeps history; resolves when the publish is done. */
  async record (channel: string, data: unknown, form: ReplayForm = 'ext'): Promise<void> {
    await this.engine.publish(new HistoricEvent({ channel, data }, form), parser.parse(channel)!.expansion)
  }

  /** The replay ids and data the history holds of `pattern`, after `after`; undefined when that read is refused. */
  async read (pattern: string, after?: number, limit = 100): Promise<Array<[number, unknown]> | undefined> {
    const events = await this.engine.history(pattern, after, limit)
    return events?.map(event => [event.replayId!, replayedData(event)])
  }

  /**
   * Waits until every live session has received a fence of each publisher published
   * after everything so far. Delivery per session is FIFO per publisher (C70), so each
   * live session then has all it will ever get of earlier publishes; sessions that get
   * nothing (destroyed ones) are covered by the live ones receiving the same publishes
   * alongside them.
   */
  async settle (): Promise<void> {
    const round = ++this.#fences
    const fences = [...this.#publishers].map(publisher => `${this.#name}:${round}:${publisher ?? ''}`)
    await Promise.all(fences.map((fence, i) => this.publish(FENCE, fence, [...this.#publishers][i]).done))
    const pending = new Set(fences)
    for (let wait = 0; wait < 2_000; wait++) {
      const reached = new Map<string, number>()
      for (const { sessionId, event } of this.deliveries) {
        if (event.channel === FENCE && pending.has((event.message as { data: string }).data)) reached.set(sessionId, (reached.get(sessionId) ?? 0) + 1)
      }
      if ([...this.#live].every(id => reached.get(id) === fences.length)) return
      await delay(5)
    }
    throw new Error('the fence publishes did not reach every live session')
  }

  /** The events `sessionId` received, fences left out, in delivery order. */
  received (sessionId: string): OutgoingEvent[] {
    return this.deliveries.filter(d => d.sessionId === sessionId && d.event.channel !== FENCE).map(d => d.event)
  }

  /** The data of the events `sessionId` received, in delivery order. */
  dataAt (sessionId: string): unknown[] {
    return this.received(sessionId).map(event => (event.message as { data: unknown }).data)
  }
}

/**
 * Makes a node. Nodes made with the same `cluster` share their sessions; each test
 * gets its own cluster, so that engines keeping state outside the process (Redis)
 * start every test empty.
 */
export type EngineFactory = (cluster: string) => Engine | Promise<Engine>

const clusters = new WeakMap<Test, string>()
let clusterCount = 0

/** A host that takes what an engine gives it and forgets it: for tests of an engine's history alone. */
export function historyHost (history: HistoryLimits): EngineHost {
  return {
    maxInterval: 10_000,
    timeout: 30_000,
    history,
    deliver () {},
    release: () => undefined,
    subscribed () {},
    unsubscribed () {},
    endSession () {},
    touch () {},
    replayed () {},
    orphanEnded () {},
    statusChanged () {},
    destroysPending () {},
    warn () {}
  }
}

/** Publishes `data` on `channel`, which keeps history, through `engine`. */
export async function record (engine: Engine, channel: string, data: unknown): Promise<void> {
  await engine.publish(new HistoricEvent({ channel, data }, 'ext'), parser.parse(channel)!.expansion)
}

/** What the tests' histories keep: few events, for long enough. */
const HISTORY: HistoryLimits = { size: 4, ttl: 60_000 }

async function start (t: Test, makeEngine: EngineFactory, history = HISTORY): Promise<Harness> {
  let cluster = clusters.get(t)
  if (cluster === undefined) clusters.set(t, cluster = `c${++clusterCount}`)
  const harness = new Harness(await makeEngine(cluster), history)
  await harness.engine.start(harness)
  t.teardown(() => harness.engine.close())
  return harness
}

/** The data an event of a history channel was published with, whichever its form. */
function replayedData (event: OutgoingEvent): unknown {
  const { data, ext } = event.message as { data: { payload?: unknown }, ext?: { replay?: unknown } }
  return ext?.replay !== undefined ? data : data.payload
}

/** The data of `events`, fences left out. */
function dataOf (events: readonly OutgoingEvent[]): unknown[] {
  return events.filter(event => event.channel !== FENCE).map(event => (event.message as { data: unknown }).data)
}

export function engineContract (t: Test, makeEngine: EngineFactory, { nodes = false } = {}): void {
  t.test('sessions are created and destroyed, each call idempotent', async t => {
    const h = await start(t, makeEngine)
    await h.engine.createSession('s1', { ack: false })
    await h.session('s1', '/idempotent')
    await h.destroy('s1')
    await h.engine.destroySession('s1')
    await h.engine.destroySession('never')
    await h.session('s2', '/idempotent')
    await h.publish('/idempotent', 1).done
    await h.settle()
    t.same(h.dataAt('s2'), [1], 'the engine still works')
    t.same(h.dataAt('s1'), [], 'a destroyed session receives nothing')
  })

  t.test('a publish reaches subscribers of its exact channel, and only them', async t => {
    const h = await start(t, makeEngine)
    await h.session('a', '/chat/room')
    await h.session('b', '/chat/room')
    await h.session('other', '/chat/other')
    await h.publish('/chat/room', 'hi').done
    await h.publish('/chat/nobody', 'lost').done
    await h.settle()
    t.same(h.dataAt('a'), ['hi'])
    t.same(h.dataAt('b'), ['hi'])
    t.same(h.dataAt('other'), [], 'a subscriber of another channel gets nothing')
  })

  t.test('* matches exactly one segment (C61)', async t => {
    const h = await start(t, makeEngine)
    await h.session('s', '/a/*')
    for (const channel of ['/a', '/a/b', '/ab', '/a/b/c', '/b/c', '/a/c']) await h.publish(channel, channel).done
    await h.settle()
    t.same(h.dataAt('s'), ['/a/b', '/a/c'], '/a/* matches /a/b, not /a, /ab or /a/b/c')
  })

  t.test('** matches one or more segments (C61)', async t => {
    const h = await start(t, makeEngine)
    await h.session('s', '/a/**')
    await h.session('root', '/**')
    await h.session('top', '/*')
    const channels = ['/a', '/a/b', '/ab', '/a/b/c', '/b/c', '/a/b/c/d']
    for (const channel of channels) await h.publish(channel, channel).done
    await h.settle()
    t.same(h.dataAt('s'), ['/a/b', '/a/b/c', '/a/b/c/d'], '/a/** matches below /a, not /a itself')
    t.same(h.dataAt('root'), channels, '/** matches every channel')
    t.same(h.dataAt('top'), ['/a', '/ab'], '/* matches one-segment channels only')
  })

  t.test('a session gets one copy however many of its patterns match (C60, C48)', async t => {
    const h = await start(t, makeEngine)
    await h.session('all', '/a/b', '/a/*', '/a/**', '/**')
    await h.session('twice', '/a/b')
    await h.engine.subscribe('twice', '/a/b')
    await h.session('single', '/a/*')
    await h.publish('/a/b', 1).done
    await h.publish('/a/b/c', 2).done
    await h.settle()
    t.same(h.dataAt('all'), [1, 2], 'exact, *, ** and /** subscriber: one copy of each event')
    t.same(h.dataAt('twice'), [1], 'subscribing twice to a channel: one copy')
    t.same(h.dataAt('single'), [1], 'a wildcard alone: one copy')
  })

  t.test('every recipient is handed the same Event, serialized once', async t => {
    const h = await start(t, makeEngine)
    for (const id of ['a', 'b', 'c']) await h.session(id, id === 'c' ? '/x/**' : '/x/y')
    const { event, done } = h.publish('/x/y', { text: 'shared' })
    await done
    await h.settle()
    const handed = ['a', 'b', 'c'].map(id => h.received(id))
    t.same(handed.map(events => events.length), [1, 1, 1], 'each session got the event')
    const [first] = handed[0]!
    t.ok(handed.every(([other]) => other === first), 'one Event object for all recipients')
    t.equal(first!.json, event.json, 'with the published content')
  })

  t.test('unsubscribe stops delivery of that pattern only (C51)', async t => {
    const h = await start(t, makeEngine)
    await h.session('s', '/a/b', '/a/*')
    await h.session('peer', '/a/b')
    await h.engine.unsubscribe('s', '/a/b')
    await h.publish('/a/b', 1).done
    await h.engine.unsubscribe('s', '/a/*')
    await h.publish('/a/b', 2).done
    await h.settle()
    t.same(h.dataAt('s'), [1], 'still reached through /a/* until that is dropped too')
    t.same(h.dataAt('peer'), [1, 2], 'another subscriber of the channel keeps it')
  })

  t.test('unsubscribing from an unknown pattern or session is harmless (C50)', async t => {
    const h = await start(t, makeEngine)
    await h.session('s', '/a')
    await h.engine.unsubscribe('s', '/never/subscribed')
    await h.engine.unsubscribe('s', '/a/**')
    await h.engine.unsubscribe('ghost', '/a')
    await h.publish('/a', 1).done
    await h.settle()
    t.same(h.dataAt('s'), [1], 'the session keeps its real subscription')
  })

  t.test('destroySession drops its subscriptions', async t => {
    const h = await start(t, makeEngine)
    await h.session('gone', '/a', '/a/**', '/**')
    await h.session('witness', '/a', '/a/**')
    await h.destroy('gone')
    await h.publish('/a', 1).done
    await h.publish('/a/b', 2).done
    await h.settle()
    t.same(h.dataAt('witness'), [1, 2], 'the publishes did happen')
    t.same(h.received('gone'), [], 'nothing reaches a destroyed session')
    await h.session('gone')
    await h.publish('/a', 3).done
    await h.settle()
    t.same(h.dataAt('gone'), [], 'a new session with the same id starts without subscriptions')
  })

  t.test('delivery order per session follows publish order (C70)', async t => {
    const h = await start(t, makeEngine)
    await h.session('s', '/q/**', '/q/one')
    const expected = Array.from({ length: 40 }, (_, i) => i)
    for (const i of expected.slice(0, 20)) await h.publish(i % 2 === 0 ? '/q/one' : '/q/two/deep', i).done
    // Publishes started back to back, before any has finished, keep their order too.
    await Promise.all(expected.slice(20).map(i => h.publish(i % 2 === 0 ? '/q/one' : '/q/two/deep', i).done))
    await h.settle()
    t.same(h.dataAt('s'), expected, 'FIFO across channels and patterns')
  })

  t.test('deliver reaches one session by id; find, claim and deliver know nothing of unknown ids', async t => {
    const h = await start(t, makeEngine)
    await h.session('one', '/x')
    await h.session('other', '/x')
    t.equal(await h.engine.deliver('one', new OutgoingEvent({ channel: '/direct', data: 1 })), true)
    t.equal(await h.engine.deliver('ghost', new OutgoingEvent({ channel: '/direct', data: 2 })), false)
    await h.settle()
    t.same(h.dataAt('one'), [1])
    t.same(h.dataAt('other'), [])
    t.equal(await h.engine.find('ghost'), undefined)
    t.equal(await h.engine.claim('ghost', { socket: false }), undefined)
  })

  t.test('end asks the node holding the session to end it; sessionCount counts live sessions', async t => {
    const h = await start(t, makeEngine)
    const before = await h.engine.sessionCount()
    await h.session('a')
    await h.session('b')
    t.equal(await h.engine.sessionCount(), before + 2)
    await h.engine.endSession('a', 'client')
    await h.engine.endSession('ghost', 'server')
    t.same(h.ended, [['a', 'client']], 'the host is told; an unknown id is ignored')
    await h.destroy('a')
    t.equal(await h.engine.sessionCount(), before + 1)
  })

  if (!nodes) return

  t.test('nodes: a session held elsewhere is found with its record and subscriptions', async t => {
    const [a, b] = [await start(t, makeEngine), await start(t, makeEngine)]
    await a.session('s', '/a', '/b/**')
    const found = await b.engine.find('s')
    t.same(found?.record, { ack: false, browserId: 'browser-of-s', attributes: { name: 's' } })
    t.same([...found?.subscriptions ?? []].sort(), ['/a', '/b/**', FENCE].sort())
    t.equal(found?.socketOpen, false)
    await a.engine.socketBound('s', true)
    t.equal((await b.engine.find('s'))?.socketOpen, true, 'a socket open on a live node')
    t.equal(await b.engine.claim('s', { socket: true }), undefined, 'a socket cannot take over a session whose socket is open elsewhere')
    await a.engine.socketBound('s', false)
    t.equal((await b.engine.find('s'))?.socketOpen, false)
  })

  t.test('nodes: publishes on any node reach subscribers on every node, once', async t => {
    const [a, b, c] = [await start(t, makeEngine), await start(t, makeEngine), await start(t, makeEngine)]
    await a.session('onA', '/n/x', '/n/*', '/n/**')
    await b.session('onB', '/n/**')
    for (const [i, node] of [a, b, c].entries()) await node.publish('/n/x', i).done
    await Promise.all([a.settle(), b.settle()])
    t.same(a.dataAt('onA'), [0, 1, 2], 'one copy each, in publish order')
    t.same(b.dataAt('onB'), [0, 1, 2])
  })

  t.test('nodes: a subscription made through another node counts at once, and its node is told', async t => {
    const [a, b] = [await start(t, makeEngine), await start(t, makeEngine)]
    await a.session('s')
    await b.engine.subscribe('s', '/via/b')
    await b.publish('/via/b', 1).done
    await b.engine.unsubscribe('s', '/via/b')
    await b.publish('/via/b', 2).done
    await a.settle()
    t.same(a.dataAt('s'), [1], 'the publish right after the subscribe arrived, the one after the unsubscribe did not')
    t.same(a.subscriptionChanges, [`+s ${FENCE}`, '+s /via/b', '-s /via/b'])
  })

  t.test('nodes: deliver by id and end reach the node that holds the session', async t => {
    const [a, b] = [await start(t, makeEngine), await start(t, makeEngine)]
    await a.session('s')
    t.equal(await b.engine.deliver('s', new OutgoingEvent({ channel: '/direct', data: 'hi' })), true)
    await a.settle()
    t.same(a.dataAt('s'), ['hi'])
    t.equal(await b.engine.sessionCount(), await a.engine.sessionCount(), 'every node counts the same sessions')
    await b.engine.endSession('s', 'client')
    for (let i = 0; i < 400 && a.ended.length === 0; i++) await delay(5)
    t.same(a.ended, [['s', 'client']])
    t.same(b.ended, [])
  })

  t.test('nodes: a request served elsewhere tells the session\'s node that its client is alive (C77)', async t => {
    const [a, b] = [await start(t, makeEngine), await start(t, makeEngine)]
    await a.session('s')
    if (b.engine.touch === undefined) return t.fail('an engine of many nodes passes touches on')
    await b.engine.touch('s')
    await b.engine.touch('ghost')
    for (let i = 0; i < 400 && a.touched.length === 0; i++) await delay(5)
    t.same(a.touched, ['s'], 'the node holding it is told')
    t.same(b.touched, [])
  })

  t.test('nodes: a session whose node is gone ends on the node that ends it, whose host alone is told', async t => {
    const [a, b] = [await start(t, makeEngine), await start(t, makeEngine)]
    await a.session('s', '/left')
    const before = await b.engine.sessionCount()
    await a.engine.close()
    await b.engine.endSession('s', 'client')
    t.same(b.orphansEnded, [['s', 'client', false, [FENCE, '/left']]], 'with its record and subscriptions, for its events')
    t.same([a.orphansEnded, a.ended, b.ended], [[], [], []], 'no other node, and no one asked to end it')
    t.equal(await b.engine.find('s'), undefined, 'gone')
    t.equal(await b.engine.sessionCount(), before - 1)
    await b.engine.endSession('s', 'client')
    t.equal(b.orphansEnded.length, 1, 'once')
  })

  t.test('nodes: each publisher\'s events arrive once, in its order, on every node', async t => {
    const [a, b, c] = [await start(t, makeEngine), await start(t, makeEngine), await start(t, makeEngine)]
    await a.session('onA', '/p/**')
    await b.session('onB', '/p/x')
    const sent = Array.from({ length: 160 }, (_, i) => i)
    const publisherOf = (i: number): string => PUBLISHERS[i % PUBLISHERS.length]!
    // Each publisher's events one after another, the publishers at once, through two nodes.
    await Promise.all(PUBLISHERS.map(async (publisher, p) => {
      for (const i of sent.filter(i => publisherOf(i) === publisher)) await (p % 2 === 0 ? b : c).publish('/p/x', i, publisher).done
    }))
    await Promise.all([a.settle(), b.settle()])
    t.ok(inPublisherOrder(a.dataAt('onA'), sent, publisherOf), 'every event once, each publisher\'s in order, through a wildcard')
    t.ok(inPublisherOrder(b.dataAt('onB'), sent, publisherOf), 'and on the other node')
  })

  t.test('nodes: a session taken over keeps every event once, in order, while publishes go on', async t => {
    const [a, b, publisher] = [await start(t, makeEngine), await start(t, makeEngine), await start(t, makeEngine)]
    await a.session('s', '/stream')
    const sent = Array.from({ length: 300 }, (_, i) => i)
    // Several publishers, whose events an engine may carry on different buses.
    const publisherOf = (i: number): string => PUBLISHERS[i % 3]!
    const publishing = (async () => { for (const i of sent) await publisher.publish('/stream', i, publisherOf(i)).done })()
    // Back and forth between the two nodes while the stream flows.
    const moves: Array<ClaimedSession | undefined> = []
    for (let i = 0; i < 6; i++) {
      await delay(2)
      moves.push(await (i % 2 === 0 ? b : a).claim('s'))
    }
    await publishing
    const holder = moves.length % 2 === 0 ? a : b
    await holder.settle()
    t.ok(moves.every(claimed => claimed !== undefined), 'every claim succeeded')
    t.same(moves[0]?.record.attributes, { name: 's' }, 'the record travels')
    t.same(moves[0]?.state?.attributes, { moved: true }, 'the state the previous node released travels')
    const queued = dataOf(holder.queues.get('s') ?? [])
    t.ok(inPublisherOrder(queued, sent, publisherOf), 'no event lost or repeated across six moves, each publisher\'s in order')
    t.notOk((holder === a ? b : a).queues.has('s'), 'the other node let it go')
  })

  t.test('nodes: a session moves with its seam, and a replay read where it was reaches it (docs/replay.md)', async t => {
    const [a, b, c] = [await start(t, makeEngine), await start(t, makeEngine), await start(t, makeEngine)]
    await a.session('s', '/seam')
    if (a.engine.replayed === undefined) return t.fail('an engine of many nodes sends replays after sessions that moved')
    a.seams.set('s', { replays: 1, held: [new OutgoingEvent({ channel: '/seam', data: 'held' }, 8)], replayed: { '/seam': 7 } })
    const claimed = await b.claim('s')
    t.same(claimed?.state?.seam && { ...claimed.state.seam, held: claimed.state.seam.held.map(event => [event.replayId, dataOf([event])[0]]) },
      { replays: 1, held: [[8, 'held']], replayed: { '/seam': 7 } }, 'the seam travels, replay ids included')
    await a.engine.replayed('s', [new OutgoingEvent({ channel: '/seam', data: 'replayed' }, 8)], false)
    await c.engine.replayed!('s', [], true)
    for (let i = 0; i < 400 && b.replays.length < 2; i++) await delay(5)
    t.same(b.replays, [['s', ['replayed'], false], ['s', [], true]], 'replays reach the node that holds the session now, in order')
    t.same([a.replays, c.replays], [[], []])
  })

  t.test('nodes: two claims at once by one node make one move', async t => {
    const [a, b] = [await start(t, makeEngine), await start(t, makeEngine)]
    await a.session('s', '/twice')
    await a.publish('/twice', 1).done
    await a.settle()
    const [first, second] = await Promise.all([b.engine.claim('s', { socket: false }), b.engine.claim('s', { socket: false })])
    t.equal(second, first, 'the same answer for both')
    t.same(dataOf(first?.state?.queued ?? []), [1], 'the queue, handed over once')
  })

  t.test('nodes: a claim by the node that holds the session changes nothing', async t => {
    const a = await start(t, makeEngine)
    await a.session('s', '/here')
    await a.publish('/here', 1).done
    await a.settle()
    const claimed = await a.engine.claim('s', { socket: false })
    t.same(claimed?.subscriptions.slice().sort(), ['/here', FENCE].sort())
    await a.publish('/here', 2).done
    await a.settle()
    t.same(a.dataAt('s'), [1, 2])
  })

  t.test('history: a publish gets its channel\'s next id, is delivered with it and kept as delivered', async t => {
    const h = await start(t, makeEngine)
    await h.session('s', '/h/a')
    await h.record('/h/a', 'one')
    await h.record('/h/b', 'other')
    await h.record('/h/a', 'two', 'envelope')
    await h.settle()
    const [first, second] = h.received('s') as [OutgoingEvent, OutgoingEvent]
    t.ok(Number.isSafeInteger(first.replayId) && first.replayId! > 0, `a positive integer: ${first.replayId}`)
    t.ok(second.replayId! > first.replayId!, 'increasing within the channel')
    t.same(first.message, { channel: '/h/a', data: 'one', ext: { replay: { id: first.replayId } } }, 'ext form')
    t.match(second.message, { channel: '/h/a', data: { event: { replayId: second.replayId, createdDate: String }, payload: 'two' } }, 'envelope form')
    const kept = await h.engine.history('/h/a', undefined, 10)
    t.same(kept?.map(event => event.json), [first.json, second.json], 'the history holds the very events delivered')
    t.same(await h.read('/h/nothing'), [], 'a channel without history: nothing to read')
    t.equal(await h.read('/h/nothing', 5), undefined, 'and no id to resume from')
  })

  t.test('history: bounded in size; reading after an id is whole or refused', async t => {
    const h = await start(t, makeEngine)
    for (let i = 1; i <= 6; i++) await h.record('/h/a', i)
    const kept = (await h.read('/h/a'))!
    t.same(kept.map(([, data]) => data), [3, 4, 5, 6], `the last ${HISTORY.size} are kept`)
    const [third, fourth, , sixth] = kept.map(([id]) => id) as [number, number, number, number]
    t.same((await h.read('/h/a', fourth))?.map(([, data]) => data), [5, 6], 'after a kept id')
    t.same(await h.read('/h/a', sixth), [], 'after the latest: nothing')
    t.same((await h.read('/h/a', third, 2))?.map(([, data]) => data), [4, 5], 'limit: the oldest first')
    t.equal(await h.read('/h/a', sixth + 1), undefined, 'beyond the latest: never issued')
    t.equal(await h.read('/h/a', 1), undefined, 'long before: events after it were dropped')
    if (fourth - third > 1) t.equal(await h.read('/h/a', third + 1), undefined, 'between two ids: never issued')
  })

  t.test('history: the id of the last event dropped is still a place to resume from', async t => {
    const h = await start(t, makeEngine)
    for (let i = 1; i <= 4; i++) await h.record('/h/a', i)
    const [first, second] = (await h.read('/h/a'))!.map(([id]) => id) as [number, number]
    await h.record('/h/a', 5)
    t.same((await h.read('/h/a', first))?.map(([, data]) => data), [2, 3, 4, 5], 'nothing after the dropped one is missing')
    await h.record('/h/a', 6)
    t.equal(await h.read('/h/a', first), undefined, 'now the event after it is gone too')
    t.same((await h.read('/h/a', second))?.map(([, data]) => data), [3, 4, 5, 6])
  })

  t.test('history: events older than the ttl are gone', async t => {
    const h = await start(t, makeEngine, { size: 10, ttl: 500 })
    await h.record('/h/a', 'old')
    const [[old]] = (await h.read('/h/a'))! as [[number, unknown]]
    await delay(600)
    t.same(await h.read('/h/a'), [], 'expired')
    await h.record('/h/a', 'new')
    t.same((await h.read('/h/a'))?.map(([, data]) => data), ['new'])
    await h.record('/h/a', 'newer')
    await delay(600)
    t.same(await h.read('/h/a'), [], 'all expired')
    t.equal(await h.read('/h/a', old), undefined, 'events after it expired')
  })

  t.test('history: a wildcard reads every matching channel, in id order', async t => {
    const h = await start(t, makeEngine)
    await h.record('/w/a', 1)
    await h.record('/w/b', 2)
    await h.record('/w/a/deep', 3)
    await h.record('/other', 4)
    await h.record('/w/b', 5)
    t.same((await h.read('/w/*'))?.map(([, data]) => data), [1, 2, 5])
    t.same((await h.read('/w/**'))?.map(([, data]) => data), [1, 2, 3, 5])
    t.same((await h.read('/**', undefined, 2))?.map(([, data]) => data), [1, 2], 'limit: the oldest first')
  })

  if (!nodes) return

  t.test('nodes: ids are the same on every node, and any node reads what any node published', async t => {
    const [a, b] = [await start(t, makeEngine), await start(t, makeEngine)]
    await b.session('s', '/h/**')
    await a.record('/h/x', 'from a')
    await b.record('/h/x', 'from b')
    await b.settle()
    const live = b.received('s').map(event => event.replayId)
    const fromA = (await a.read('/h/x'))!.map(([id]) => id)
    const fromB = (await b.read('/h/x'))!.map(([id]) => id)
    t.same(fromA, live, 'ids delivered live are the ids kept')
    t.same(fromB, fromA, 'both nodes read the same history')
    t.ok(fromA[1]! > fromA[0]!, 'increasing across nodes')
  })
}
