import { randomBytes } from 'node:crypto'
import diagnosticsChannel from 'node:diagnostics_channel'
import { BayeuxServerError } from '../errors.ts'
import { HistoricEvent } from '../protocol/historic-event.ts'
import { OutgoingEvent } from '../protocol/outgoing-event.ts'
import type { EventMessage } from '../protocol/message.ts'
import type { ClaimedSession, Engine, EngineHost, HistoryLimits, RemoteSession, SessionRecord, SessionState } from './engine.ts'
import { busPrefixes, connectRedis, isReply, isTimeout, script } from './redis-connection.ts'
import type { RedisConnection, Script } from './redis-connection.ts'
import * as scripts from './redis-scripts.ts'
import { SubscriptionIndex } from './subscription-index.ts'

export interface RedisEngineOptions {
  /** Default: `redis://127.0.0.1:6379`. */
  url?: string
  /** Namespaces every key and Redis channel, so that clusters share a Redis; default `bayeux:`. */
  prefix?: string
  /**
   * `url` is a node of a Redis Cluster; default false. Channels are sharded, and the
   * engine's keys are spread over `buses` hash tags (docs/cluster.md).
   */
  cluster?: boolean
  /**
   * On a Redis Cluster, how many buses (hash tags, spread over the slots) carry the
   * publishes: each publisher's go through one, and every bus holds a copy of the
   * routing. Best the number of masters; default 3. Every node must use the same. One
   * Redis has one bus.
   */
  buses?: number
  /** ms between a node's heartbeats; default 1,000. */
  heartbeat?: number
  /** ms of silence after which the other nodes take a node for dead; default 5,000. */
  detection?: number
  /**
   * ms a command may wait for Redis's reply before it fails with
   * BAYEUX_ERR_ENGINE_UNAVAILABLE; default 5,000. A late reply counts as an outage only
   * when Redis answered nothing else meanwhile and does not answer a probe either.
   */
  commandTimeout?: number
  /**
   * ms between two checks that a session's previous node is still alive, while a node
   * waits for it to hand the session over; default 2,000.
   */
  handoverTimeout?: number
  /**
   * Keeps a log of recent publishes in Redis, so that an acknowledge-extension session
   * whose node dies gets every event its client had not acknowledged from the node that
   * takes it over; default true. The log holds about a session's lifetime of events
   * (timeout + 2 × maxInterval + detection).
   */
  ackRecovery?: boolean
}

/** ms the engine's keys live without being refreshed, at least. */
const KEY_TTL = 600_000
/** History events kept parsed for replays that read them at the same time: ten channels' worth at the default history size. */
const READ_LATELY = 10_000
/** Sessions ended here whose destroy is kept for a retry; past that, the oldest are left to their keys' TTL (they still never come back). */
const MAX_ENDING = 100_000
/** Session ids per script run where a script takes many (DESTROY, STALE, REFRESH): each is an argument. */
const IDS_PER_RUN = 1_000

/** The metrics' hook (lib/diagnostics.ts): engines publish on it by name, without importing the server. */
const operations = diagnosticsChannel.channel('bayeux-server:engine')
type ScriptName = keyof typeof scripts

/** A session moving here: the events that arrive for it until its state is in. */
interface Arrival {
  readonly events: OutgoingEvent[]
  /** Replays forwarded by the node it left, once its state is in (Engine.replayed). */
  readonly replays: WireReplay[]
  state: SessionState | undefined
  /** The previous node had ended the session: it is over, not moved. */
  gone: boolean
  /** Resolves when the previous node has handed the session over. */
  handedOver: () => void
}

/** A history entry as Redis returns it: its stream id (`<replay id>-0`) and its fields. */
type StreamEntry = [string, string[]]

/** A session of a dead node that a script ended: its id, its record (JSON), its subscriptions joined by newlines. */
type EndedSession = [string, string, string]

/**
 * An event as it travels between nodes: the message, its log id ('' if none; `<bus>@<id>`
 * when not of the first bus) and its replay id, if it has them.
 */
type WireEvent = [EventMessage, string?, number?]

/** How a session's state travels between nodes. */
interface WireState {
  q: WireEvent[]
  u?: { e: WireEvent[], b: number[], n: number }
  c: boolean
  i?: number
  t?: string
  a: Record<string, unknown>
  /** The seam: replays being read, live events held for them, replay ids replayed. */
  s?: { n: number, h: WireEvent[], r: Record<string, number> }
}

/** A handover: the session's state, or `g` when the session had ended on the node it left. */
type WireHandover = WireState | { g: 1 }

/** A replay forwarded to the node a session moved to: its events, and whether its subscribe failed. */
interface WireReplay {
  e: WireEvent[]
  a?: 1
}

/**
 * Many nodes on one Redis (docs/cluster.md). Each session lives on one node, the one
 * that received its latest connect or holds its WebSocket, and moves when a connect
 * arrives elsewhere; other requests are served wherever they land. A publish is one
 * script run that sends the event once to each node with interested sessions, which
 * fan it out locally; every change of ownership or subscription goes through a script
 * too, and a node's messages come on one Redis channel, so they stay in order. On a
 * Redis Cluster, publishes spread over buses (hash tags), each publisher's through one,
 * and every bus holds a copy of the routing: each bus keeps that order on its own.
 */
export class RedisEngine implements Engine {
  /** This node's id in Redis. */
  readonly node = randomBytes(8).toString('hex')
  readonly #url: string
  readonly #prefix: string
  readonly #heartbeatEvery: number
  readonly #detection: number
  readonly #handoverTimeout: number
  readonly #commandTimeout: number
  readonly #ackRecovery: boolean
  /** Log ids of the events that came through the log, for the acknowledge extension. */
  readonly #logIds = new WeakMap<OutgoingEvent, string>()
  /** How long the log keeps events; 0 without ackRecovery. */
  #logWindow = 0
  /**
   * Per bus, the sessions this node holds and their patterns, as that bus's messages
   * say: a bus's events match its own index, which its markers change in order with them.
   */
  readonly #indexes: SubscriptionIndex[]
  /** Sessions moving here: the buses whose move has not said yet whether it reached them ('m' or 'k'). */
  readonly #unsettled = new Map<string, Set<number>>()
  /** Sessions another node claimed, to hand over to it once every bus has let them go here ('l'). */
  readonly #leaving = new Map<string, string>()
  /** Records of the sessions this node holds, as stored (JSON), to put back after Redis lost them. */
  readonly #records = new Map<string, string>()
  /**
   * Sessions ended here whose keys a DESTROY has not removed yet (Redis away, or a
   * command timed out): retried at each heartbeat, so that their records and interest
   * do not linger, and meanwhile never taken for sessions of this node (FIND, CLAIM).
   */
  readonly #ending = new Set<string>()
  readonly #arrivals = new Map<string, Arrival>()
  readonly #claims = new Map<string, Promise<ClaimedSession | undefined>>()
  /** The scripts as this Redis runs them. */
  readonly #scripts: Record<ScriptName, Script>
  /**
   * The prefix keys and channels really have, per bus: on a cluster, the bus's hash tag.
   * The first bus holds the sessions' records, the nodes and the history.
   */
  readonly #buses: string[]
  readonly #cluster: boolean
  #host: EngineHost | undefined
  #history: HistoryLimits | undefined
  /** History events read lately, by replay id, oldest first (#historic). */
  readonly #readLately = new Map<number, OutgoingEvent>()
  #client: RedisConnection | undefined
  #subscriber: RedisConnection | undefined
  #timer: NodeJS.Timeout | undefined
  #ttl = 0
  #maxInterval = 0
  #available = true
  /** Replies of Redis so far, errors included. */
  #answers = 0
  /** Whether Redis answers a probe, while one is under way (#answering). */
  #probe: Promise<boolean> | undefined
  #lastRefresh = 0
  #closed = false
  /** Sessions whose node this one told of a request since its last heartbeat. */
  readonly #touched = new Set<string>()
  /** Sessions of the other nodes and orphans, at the last heartbeat. */
  #elsewhere = 0
  /** A heartbeat found the other nodes using another number of buses: logged once. */
  #disagreed = false
  /** The listener connection came back, and the sessions held here are still to be checked against Redis (#reconcile). */
  #stale = false

  constructor (options: RedisEngineOptions = {}) {
    this.#url = options.url ?? 'redis://127.0.0.1:6379'
    this.#prefix = options.prefix ?? 'bayeux:'
    this.#heartbeatEvery = options.heartbeat ?? 1000
    this.#detection = options.detection ?? 5000
    this.#handoverTimeout = options.handoverTimeout ?? 2000
    this.#commandTimeout = options.commandTimeout ?? 5000
    this.#ackRecovery = options.ackRecovery ?? true
    this.#cluster = options.cluster ?? false
    const buses = this.#cluster ? options.buses ?? 3 : 1
    if (!Number.isInteger(buses) || buses < 1) {
      throw new BayeuxServerError('BAYEUX_ERR_INVALID_OPTIONS', `RedisEngine: buses must be a positive integer, not ${buses}`)
    }
    this.#buses = busPrefixes(this.#prefix, buses, this.#cluster)
    this.#indexes = this.#buses.map(() => new SubscriptionIndex())
    this.#scripts = Object.fromEntries(Object.entries(scripts).map(([name, text]) => [name, script(text, { cluster: this.#cluster })])) as Record<ScriptName, Script>
    if (!/^rediss?:\/\/./.test(this.#url)) {
      throw new BayeuxServerError('BAYEUX_ERR_INVALID_OPTIONS', `RedisEngine: url must be redis://… or rediss://…, not ${JSON.stringify(this.#url)}`)
    }
    if (this.#detection <= this.#heartbeatEvery) {
      throw new BayeuxServerError('BAYEUX_ERR_INVALID_OPTIONS', 'RedisEngine: detection must be longer than heartbeat')
    }
  }

  /** The prefix of every key and Redis channel of this engine. */
  get prefix (): string {
    return this.#prefix
  }

  /** Whether the last command reached Redis. */
  get reachable (): boolean {
    return this.#available
  }

  async start (host: EngineHost): Promise<void> {
    this.#host = host
    this.#history = host.history
    this.#maxInterval = host.maxInterval
    // A session's keys outlive any gap between its connects, and a dead node's detection.
    // The log covers a session's lifetime: any event its client may not have acknowledged.
    const lifetime = host.timeout + 2 * host.maxInterval + this.#detection
    if (this.#ackRecovery) this.#logWindow = lifetime
    // Keys only need a TTL in case every node is gone: a long one keeps the refreshes of a
    // node's keys rare (two PEXPIREs a session per refresh).
    this.#ttl = Math.max(lifetime, KEY_TTL)
    const { commands, listener } = connectRedis({ url: this.#url, cluster: this.#cluster, commandTimeout: this.#commandTimeout })
    this.#client = commands
    this.#subscriber = listener
    await commands.connect()
    await listener.connect()
    // Nodes that spread over other buses would not see each other's routing.
    const buses = this.#cluster ? await this.#agree() : String(this.#buses.length)
    if (buses !== String(this.#buses.length)) {
      listener.destroy()
      commands.destroy()
      throw new BayeuxServerError('BAYEUX_ERR_INVALID_OPTIONS', `RedisEngine: the nodes under this prefix use ${buses} buses, not ${this.#buses.length}: every node must use the same`)
    }
    for (const [bus] of this.#buses.entries()) await listener.subscribe(this.#channel(this.node, bus), message => this.#receive(message, bus))
    listener.onReady(() => {
      this.#stale = true
      this.#reconcile().catch(() => {})
    })
    await this.#beat()
    this.#timer = setInterval(() => { this.#beat().catch(() => {}) }, this.#heartbeatEvery).unref()
  }

  async createSession (sessionId: string, record: SessionRecord): Promise<void> {
    const json = JSON.stringify(record)
    for (const index of this.#indexes) index.add(sessionId)
    this.#records.set(sessionId, json)
    await Promise.all([this.#run('CREATE', sessionId, this.node, json, String(this.#ttl)), this.#onOthers('COPY', sessionId, this.node, String(this.#ttl))])
  }

  async destroySession (sessionId: string): Promise<void> {
    this.#forget(sessionId)
    await this.#end(sessionId)
  }

  /** Removes the keys of a session that ended here; kept for a retry when that did not go through. */
  async #end (sessionId: string): Promise<void> {
    try {
      await this.#onAll('DESTROY', this.node, sessionId)
    } catch (error) {
      this.#keepEnding(sessionId)
      throw error
    }
  }

  #keepEnding (sessionId: string): void {
    if (this.#ending.has(sessionId)) return
    this.#ending.add(sessionId)
    if (this.#ending.size > MAX_ENDING) this.#ending.delete(this.#ending.values().next().value!)
    if (this.#ending.size === 1) this.#host!.destroysPending(true)
  }

  /** A session ended here is gone from Redis: no retry left for it. */
  #endingDone (sessionId: string): void {
    if (this.#ending.delete(sessionId) && this.#ending.size === 0) this.#host!.destroysPending(false)
  }

  /** The DESTROYs that did not go through, again. */
  async #retryEnding (): Promise<void> {
    await inRuns([...this.#ending], async (batch) => {
      await this.#onAll('DESTROY', this.node, ...batch)
      for (const id of batch) this.#endingDone(id)
    })
  }

  /** Sessions ended here whose removal from Redis is still to be retried. */
  get pendingDestroys (): number {
    return this.#ending.size
  }

  async subscribe (sessionId: string, pattern: string): Promise<void> {
    await this.#onAll('SUBSCRIBE', sessionId, pattern, '1')
  }

  async unsubscribe (sessionId: string, pattern: string): Promise<void> {
    await this.#onAll('SUBSCRIBE', sessionId, pattern, '-1')
  }

  async publish (event: OutgoingEvent | HistoricEvent, expansion: readonly string[], publisher?: string): Promise<void> {
    // The script gives a historic event its id, keeps it and fans it out in one step.
    const historic = event instanceof HistoricEvent
    const { size, ttl } = historic ? this.#history! : { size: 0, ttl: 0 }
    const [head, tail] = historic ? [event.head, event.tail] : [event.json, '']
    // History is kept on the first bus, which therefore carries every publish on a channel
    // that keeps it, and those of the server itself: they keep their order among themselves.
    // One Redis has one bus: no hashing of the publisher there.
    const bus = historic || publisher === undefined || this.#buses.length === 1 ? 0 : busOf(publisher, this.#buses.length)
    await this.#runOn(bus, 'PUBLISH', String(this.#logWindow), String(size), String(ttl), head, tail, expansionJson(expansion), ...expansion)
  }

  async history (pattern: string, after: number | undefined, limit: number): Promise<OutgoingEvent[] | undefined> {
    const ttl = this.#history?.ttl ?? 0
    const entries = await this.#run('HISTORY', pattern, after === undefined ? '' : String(after), String(limit), String(ttl)) as StreamEntry[] | null
    if (entries === null) return undefined
    const events = entries.map(([id, fields]) => this.#historic(Number(id.slice(0, id.indexOf('-'))), fields))
    if (!pattern.endsWith('*')) return events
    // Ids increase across channels: in id order, events of different channels are in publish order.
    return events.sort((a, b) => a.replayId! - b.replayId!).slice(0, limit)
  }

  /**
   * A history entry as an event. Replay ids are unique under the prefix and their
   * events never change, so subscribers replaying the same events at once (clients
   * coming back after an outage) share one parse of each.
   */
  #historic (replayId: number, fields: string[]): OutgoingEvent {
    let event = this.#readLately.get(replayId)
    if (event === undefined) {
      event = OutgoingEvent.fromJSON(fields[fields.indexOf('e') + 1]!, replayId)
      this.#readLately.set(replayId, event)
      if (this.#readLately.size > READ_LATELY) this.#readLately.delete(this.#readLately.keys().next().value!)
    }
    return event
  }

  async replayed (sessionId: string, events: readonly OutgoingEvent[], abandoned: boolean): Promise<void> {
    const replay: WireReplay = { e: this.#toWireEvents(events), ...(abandoned && { a: 1 as const }) }
    await this.#run('DELIVER', sessionId, `r${sessionId}\n${JSON.stringify(replay)}`)
  }

  async deliver (sessionId: string, event: OutgoingEvent): Promise<boolean> {
    return await this.#run('DELIVER', sessionId, `d${sessionId}\n${event.json}`) === 1
  }

  async find (sessionId: string): Promise<RemoteSession | undefined> {
    const held = this.#records.has(sessionId) || this.#claims.has(sessionId)
    const found = await this.#run('FIND', sessionId, String(this.#detection), this.node, held ? '1' : '0') as [string, number, string[]] | null
    if (found === null) {
      await this.#endedElsewhere(sessionId)
      return undefined
    }
    return { record: JSON.parse(found[0]) as SessionRecord, socketOpen: found[1] === 1, subscriptions: found[2] }
  }

  claim (sessionId: string, options: { socket: boolean, ack?: number | undefined }): Promise<ClaimedSession | undefined> {
    // Two requests of one client claiming at once share the one move.
    let claiming = this.#claims.get(sessionId)
    if (claiming === undefined) {
      this.#claims.set(sessionId, claiming = this.#claim(sessionId, options))
      claiming.finally(() => this.#claims.delete(sessionId)).catch(() => {})
    }
    return claiming
  }

  async #claim (sessionId: string, { socket, ack }: { socket: boolean, ack?: number | undefined }): Promise<ClaimedSession | undefined> {
    // Registered before the script runs: its marker may come before its reply does.
    let handedOver!: () => void
    const handover = new Promise<void>(resolve => { handedOver = resolve })
    const arrival: Arrival = { events: [], replays: [], state: undefined, gone: false, handedOver }
    this.#arrivals.set(sessionId, arrival)
    const others = this.#buses.length > 1
    if (others) this.#unsettled.set(sessionId, new Set(this.#otherBuses()))
    // When a node that had not beaten since the claim would count as dead: a move not
    // done by then will not be.
    const deadline = Date.now() + 3 * this.#detection + this.#heartbeatEvery
    let claimed: [string, 'moved' | 'orphan' | 'here', string[], string, string, string, number] | 'busy' | null
    const replayed: OutgoingEvent[] = []
    try {
      const held = this.#records.has(sessionId) ? '1' : '0'
      claimed = await this.#run('CLAIM', sessionId, this.node, String(this.#detection), socket ? '1' : '0', String(this.#ttl), ack === undefined ? '' : String(ack), held, others ? '1' : '0') as typeof claimed
      if (claimed === null || claimed === 'busy' || claimed[1] === 'here') this.#unsettled.delete(sessionId)
      if (claimed === null || claimed === 'busy') {
        this.#arrivals.delete(sessionId)
        if (claimed === null) await this.#endedElsewhere(sessionId)
        return undefined
      }
      const [json, how, subscriptions, cursor, until, previous, version] = claimed
      // The other buses move the session's copy in turn: the previous node keeps each
      // bus's events up to that bus's move, this one takes them from there.
      const untils = [until]
      const moved = how === 'here' || !others ? [] : await this.#moveOthers(sessionId, version, handover, deadline)
      // A bus that never moved the session, or a live node that never hands over (it lost
      // the claim's message): what it holds is out of reach, and the client had better
      // handshake again than carry on without it. That node ends it, with its events.
      if (moved === undefined || (how === 'moved' && await this.#awaitHandover(handover, previous, deadline) === 'mute')) {
        if (how === 'moved') this.#client!.publish(this.#channel(previous), `x${sessionId}\nserver`).catch(() => {})
        arrival.gone = true
      } else if (how === 'here') this.#adopt(sessionId, subscriptions, 0)
      untils.push(...moved ?? [])
      if (arrival.gone) {
        // Ended where it was (before its keys were removed), or out of reach there: it ends
        // here too, unknown to the client.
        this.#arrivals.delete(sessionId)
        this.#unsettled.delete(sessionId)
        for (const index of this.#indexes) index.delete(sessionId)
        await this.#end(sessionId).catch(() => {})
        return undefined
      }
      // The previous node died with what it held: an acknowledge-extension client
      // gets back from the log every event it had not acknowledged, bus by bus.
      if (how !== 'here' && arrival.state === undefined && this.#logWindow > 0 && (JSON.parse(json) as SessionRecord).ack) {
        const cursors = cursor.split(',')
        for (const [bus, last] of untils.entries()) replayed.push(...await this.#replay(bus, sessionId, cursors[bus] ?? '', last))
      }
    } catch (error) {
      this.#arrivals.delete(sessionId)
      this.#unsettled.delete(sessionId)
      throw error
    }
    const [json, , subscriptions] = claimed
    // Synchronous from here on: no message of this node's channel comes in between.
    this.#arrivals.delete(sessionId)
    // Once the server made the session from what this returns, which it does before any macrotask.
    if (arrival.replays.length > 0) setImmediate(() => { for (const replay of arrival.replays) this.#replayArrived(sessionId, replay) })
    this.#records.set(sessionId, json)
    const handed = arrival.state
    const seam = handed?.seam
    if (handed !== undefined && seam !== undefined && seam.replays > 0) {
      // Replays are still read where the session was: what came during the move waits for them too.
      const state = { ...handed, seam: { ...seam, held: [...seam.held, ...arrival.events] } }
      return { record: JSON.parse(json) as SessionRecord, subscriptions, socketOpen: false, state }
    }
    const queued = [...(handed?.queued ?? replayed), ...arrival.events]
    if (handed !== undefined) return { record: JSON.parse(json) as SessionRecord, subscriptions, socketOpen: false, state: { ...handed, queued } }
    // Nothing handed over: the client connects again, and its batches go on from its own count.
    const state = queued.length > 0 || ack !== undefined
      ? { queued, connected: true, transport: undefined, attributes: {}, ...(ack !== undefined && { unacked: { events: [], batches: [], nextBatch: ack + 1 } }) }
      : undefined
    return { record: JSON.parse(json) as SessionRecord, subscriptions, socketOpen: false, state }
  }

  /**
   * Moves the session's copy on every bus but the first (MOVE), after CLAIM moved its
   * record; each bus's log id up to which its events went to the node before. The
   * previous node lets the session go only once every bus has moved it: a bus that
   * fails (its shard away, or too slow) is tried again every handoverTimeout, until the
   * `deadline` (undefined). A MOVE that ran although its reply never came repeats as a
   * no-op ('k'); should the handover come meanwhile, every MOVE ran.
   */
  async #moveOthers (sessionId: string, version: number, handover: Promise<void>, deadline: number): Promise<string[] | undefined> {
    const untils = new Map<number, string>()
    for (;;) {
      await Promise.all(this.#otherBuses().filter(bus => !untils.has(bus)).map(async bus => {
        const until = await this.#runOn(bus, 'MOVE', sessionId, this.node, String(version), String(this.#ttl)).catch(() => undefined)
        if (until !== undefined) untils.set(bus, until as string)
      }))
      const done = untils.size === this.#buses.length - 1
      if (done || await within(handover, this.#handoverTimeout)) return this.#otherBuses().map(bus => untils.get(bus) ?? '')
      if (this.#closed || Date.now() >= deadline) return undefined
    }
  }

  /**
   * Waits for a session's previous node to hand it over, for as long as that node is
   * alive (checked every handoverTimeout): a busy node hands over late, and what it
   * held must not be lost meanwhile. 'dead' once it is not; 'mute' when it still is
   * at the `deadline` (three detection times and a heartbeat after the claim), when a
   * node that had not beaten since the claim would count as dead: it beats, but missed
   * the claim's message.
   */
  async #awaitHandover (handover: Promise<void>, previous: string, deadline: number): Promise<'in' | 'dead' | 'mute'> {
    while (!await within(handover, this.#handoverTimeout)) {
      if (await this.#run('ALIVE', previous, String(this.#detection)) !== 1) return 'dead'
      if (Date.now() >= deadline) return 'mute'
    }
    return 'in'
  }

  /** Once a heartbeat at most per session: a client sending many requests here costs one script run a second. */
  async touch (sessionId: string): Promise<void> {
    if (this.#touched.has(sessionId)) return
    this.#touched.add(sessionId)
    await this.#run('TOUCH', sessionId, String(this.#maxInterval))
  }

  async batchSent (sessionId: string, batch: number, events: readonly OutgoingEvent[]): Promise<void> {
    if (this.#logWindow === 0) return
    // The last event of the batch that came through the log says how far the client got.
    if (this.#buses.length === 1) {
      for (let i = events.length - 1; i >= 0; i--) {
        const id = this.#logIds.get(events[i]!)
        if (id !== undefined) {
          await this.#run('ACK', sessionId, String(batch), id)
          return
        }
      }
      return
    }
    // With other buses, per bus: each has its own log.
    const last = this.#buses.map(() => '')
    for (let i = events.length - 1; i >= 0; i--) {
      const tagged = this.#logIds.get(events[i]!)
      if (tagged === undefined) continue
      const at = tagged.indexOf('@')
      const bus = at < 0 ? 0 : Number(tagged.slice(0, at))
      if (last[bus] === '') last[bus] = tagged.slice(at + 1)
    }
    if (last.some(id => id !== '')) await this.#run('ACK', sessionId, String(batch), last.join(','), 'v')
  }

  async acknowledged (sessionId: string, batch: number): Promise<void> {
    if (this.#logWindow > 0) await this.#run('ACK', sessionId, String(batch), '')
  }

  async #replay (bus: number, sessionId: string, after: string, until: string): Promise<OutgoingEvent[]> {
    const pairs = await this.#runOn(bus, 'REPLAY', sessionId, after, until) as string[]
    const events: OutgoingEvent[] = []
    for (let i = 0; i < pairs.length; i += 2) events.push(this.#logged(bus, pairs[i]!, pairs[i + 1]!).event)
    return events
  }

  /**
   * A publish as the script sends and logs it (`<replay id>\n<expansion>\n<event>`), its
   * event remembered with its log id.
   */
  #logged (bus: number, id: string, body: string): { event: OutgoingEvent, expansion: string } {
    const first = body.indexOf('\n')
    const second = body.indexOf('\n', first + 1)
    const replayId = first === 0 ? undefined : Number(body.slice(0, first))
    const event = OutgoingEvent.fromJSON(body.slice(second + 1), replayId)
    if (id !== '') this.#logIds.set(event, bus === 0 ? id : `${bus}@${id}`)
    return { event, expansion: body.slice(first + 1, second) }
  }

  async socketBound (sessionId: string, open: boolean): Promise<void> {
    await this.#run('SOCKET', sessionId, this.node, open ? '1' : '0')
  }

  async endSession (sessionId: string, reason: 'client' | 'server'): Promise<void> {
    const ended = await this.#run('END', sessionId, reason, String(this.#detection)) as EndedSession | 'sent' | null
    if (!Array.isArray(ended)) return
    this.#ended(ended, reason)
    await this.#drop([sessionId])
  }

  async sessionCount (): Promise<number> {
    return await this.#run('COUNT') as number
  }

  /** As of the last heartbeat: at most one heartbeat old. */
  sessionsElsewhere (): number {
    return this.#elsewhere
  }

  /** A session of a dead node that a script of this node ended: its events fire here. */
  #ended ([id, record, subscriptions]: EndedSession, reason: 'expired' | 'client' | 'server'): void {
    this.#host!.orphanEnded(id, { record: JSON.parse(record) as SessionRecord, subscriptions: subscriptions === '' ? [] : subscriptions.split('\n'), socketOpen: false }, reason)
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#timer)
    // Sessions that ended here go first: LEAVE would make them orphans, which a connect
    // on another node could take over although they had ended.
    await this.#retryEnding().catch(() => {})
    // The others may take this node's sessions over at once, without waiting for detection.
    await this.#onAll('LEAVE', this.node, String(this.#maxInterval)).catch(() => {})
    this.#subscriber?.destroy()
    this.#client?.destroy()
    for (const index of this.#indexes) index.clear()
    this.#records.clear()
  }

  /** A message on this node's channel of a bus; its first letter says what it is. */
  #receive (message: string, bus: number): void {
    try {
      this.#dispatch(message, bus)
    } catch (error) {
      // A message this node cannot read must not stop the ones after it.
      this.#host!.warn('a message from another node could not be read', error)
    }
  }

  #dispatch (message: string, bus: number): void {
    const host = this.#host!
    const index = this.#indexes[bus]!
    const kind = message[0]
    const newline = message.indexOf('\n')
    const head = message.slice(1, newline)
    const rest = message.slice(newline + 1)
    switch (kind) {
      case 'e': {
        // e<log id>\n<replay id>\n<expansion>\n<event>
        const { event, expansion } = this.#logged(bus, head, rest)
        for (const id of index.match(JSON.parse(expansion) as string[])) this.#deliverLocal(id, event)
        return
      }
      case 'd':
        if (index.has(head)) this.#deliverLocal(head, OutgoingEvent.fromJSON(rest))
        return
      case 'r': {
        const replay = JSON.parse(rest) as WireReplay
        const arrival = this.#arrivals.get(head)
        if (arrival !== undefined) arrival.replays.push(replay)
        else this.#replayArrived(head, replay)
        return
      }
      case 's':
        // Every bus says so; the host is told once.
        if (index.subscribe(head, rest) && bus === 0) host.subscribed(head, rest)
        return
      case 't':
        host.touch(head)
        return
      case 'u':
        if (index.unsubscribe(head, rest) && bus === 0) host.unsubscribed(head, rest)
        return
      case 'm':
        // The session is ours from here: later events are its own, after what is handed over.
        // On another bus, only while it moves here or is here: a claim that failed meanwhile left it.
        if (bus === 0 || this.#arrivals.has(head) || this.#records.has(head)) this.#adopt(head, rest === '' ? [] : rest.split('\n'), bus)
        if (bus > 0) this.#settled(head, bus)
        return
      case 'a':
        // A marker of a claim that the listener missed, sent again (#reconcile): for a session still here.
        if (this.#records.has(head) && !this.#leaving.has(head)) {
          this.#adopt(head, rest === '' ? [] : rest.split('\n'), bus)
          if (bus > 0) this.#settled(head, bus)
        }
        return
      case 'k':
        // A later move reached this bus first: none of its events are for this node.
        this.#settled(head, bus)
        return
      case 'l':
        // This bus's events for the session go to the node that claimed it from here on.
        index.delete(head)
        this.#leaveWhenFree(head)
        return
      case 'c':
        this.#handOver(head, rest)
        return
      case 'h': {
        const arrival = this.#arrivals.get(head)
        if (arrival === undefined) return
        const wire = JSON.parse(rest) as WireHandover
        if ('g' in wire) arrival.gone = true
        else arrival.state = this.#fromWire(wire)
        arrival.handedOver()
        return
      }
      case 'x':
        host.endSession(head, rest === 'server' ? 'server' : 'client')
        return
      case 'o':
        this.#letGo(rest.split('\n'), bus)
    }
  }

  #deliverLocal (sessionId: string, event: OutgoingEvent): void {
    const arrival = this.#arrivals.size > 0 ? this.#arrivals.get(sessionId) : undefined
    if (arrival !== undefined) arrival.events.push(event)
    else this.#host!.deliver(sessionId, event)
  }

  #replayArrived (sessionId: string, replay: WireReplay): void {
    this.#host!.replayed(sessionId, this.#fromWireEvents(replay.e), replay.a === 1)
  }

  #adopt (sessionId: string, subscriptions: readonly string[], bus: number): void {
    const index = this.#indexes[bus]!
    index.add(sessionId)
    for (const pattern of subscriptions) index.subscribe(sessionId, pattern)
  }

  #settled (sessionId: string, bus: number): void {
    const unsettled = this.#unsettled.get(sessionId)
    unsettled?.delete(bus)
    if (unsettled?.size === 0) this.#unsettled.delete(sessionId)
    this.#leaveWhenFree(sessionId)
  }

  /** Hands a session another node claimed over, once no bus of this node has events for it to come. */
  #leaveWhenFree (sessionId: string): void {
    const node = this.#leaving.get(sessionId)
    if (node === undefined || !this.#free(sessionId)) return
    this.#leaving.delete(sessionId)
    this.#handOver(sessionId, node)
  }

  /** No bus but the first will send this node events of the session: every other one has let it go, or never reached it. */
  #free (sessionId: string): boolean {
    for (const bus of this.#otherBuses()) {
      if (this.#indexes[bus]!.has(sessionId) || this.#unsettled.get(sessionId)?.has(bus) === true) return false
    }
    return true
  }

  /** Another node claimed a session of ours: send it what we had, or that it had ended here. */
  #handOver (sessionId: string, node: string): void {
    const claiming = this.#claims.get(sessionId)
    if (claiming !== undefined) {
      // Still moving here: what it brings goes on with it, once the server has made the
      // session from it (before any macrotask).
      const later = (): void => { setImmediate(() => this.#handOver(sessionId, node)) }
      claiming.then(later, later)
      return
    }
    if (!this.#free(sessionId)) {
      // The first bus's later events are the claimer's; the other buses' come until each lets go.
      this.#indexes[0]!.delete(sessionId)
      this.#leaving.set(sessionId, node)
      return
    }
    const ended = !this.#records.has(sessionId)
    const state = this.#host!.release(sessionId)
    this.#forget(sessionId)
    this.#endingDone(sessionId)
    const wire: WireHandover = ended ? { g: 1 } : state === undefined ? { q: [], c: false, a: {} } : this.#toWire(state)
    this.#client!.publish(this.#channel(node), `h${sessionId}\n${JSON.stringify(wire)}`).catch(() => {})
  }

  #forget (sessionId: string): void {
    this.#leaving.delete(sessionId)
    for (const index of this.#indexes) index.delete(sessionId)
    this.#records.delete(sessionId)
  }

  #toWire (state: SessionState): WireState {
    const wire = (events: readonly OutgoingEvent[]): WireEvent[] => this.#toWireEvents(events)
    const seam = state.seam
    return {
      q: wire(state.queued),
      ...(state.unacked !== undefined && { u: { e: wire(state.unacked.events), b: [...state.unacked.batches], n: state.unacked.nextBatch } }),
      c: state.connected,
      ...(state.interval !== undefined && { i: state.interval }),
      ...(state.transport !== undefined && { t: state.transport }),
      a: { ...state.attributes },
      ...(seam !== undefined && { s: { n: seam.replays, h: wire(seam.held), r: { ...seam.replayed } } })
    }
  }

  #toWireEvents (events: readonly OutgoingEvent[]): WireEvent[] {
    return events.map(event => {
      const id = this.#logIds.get(event)
      const message = event.message as EventMessage
      if (event.replayId !== undefined) return [message, id ?? '', event.replayId]
      return id === undefined ? [message] : [message, id]
    })
  }

  #fromWire (wire: WireState): SessionState {
    const events = (list: WireEvent[]): OutgoingEvent[] => this.#fromWireEvents(list)
    return {
      queued: events(wire.q),
      ...(wire.u !== undefined && { unacked: { events: events(wire.u.e), batches: wire.u.b, nextBatch: wire.u.n } }),
      connected: wire.c,
      interval: wire.i,
      transport: wire.t,
      attributes: wire.a,
      ...(wire.s !== undefined && { seam: { replays: wire.s.n, held: events(wire.s.h), replayed: wire.s.r } })
    }
  }

  #fromWireEvents (list: readonly WireEvent[]): OutgoingEvent[] {
    return list.map(([message, id, replayId]) => {
      const event = new OutgoingEvent(message, replayId)
      if (id !== undefined && id !== '') this.#logIds.set(event, id)
      return event
    })
  }

  async #beat (): Promise<void> {
    const [joined, expired, elsewhere, dead] = await this.#run('HEARTBEAT', this.node, String(this.#detection), String(this.#maxInterval), String(this.#ttl)) as [number, EndedSession[], number, string[]]
    // On another shard than the heartbeat's, maybe: its failure stops nothing else.
    const buses = this.#cluster ? await this.#agree().catch(() => undefined) : undefined
    if (buses !== undefined && buses !== String(this.#buses.length) && !this.#disagreed) {
      // Started at the same moment as a node with another number, which got there first.
      this.#disagreed = true
      this.#host!.warn(`the other nodes under this prefix use another number of buses than this one (${this.#buses.length}): their routing is not seen here`, undefined)
    }
    this.#elsewhere = elsewhere
    this.#touched.clear()
    for (const session of expired) this.#ended(session, 'expired')
    if (expired.length > 0) await this.#drop(expired.map(([id]) => id))
    // Should that fail, a dead node's interest on a bus goes as its sessions move or end.
    for (const node of dead) await this.#onOthers('LEAVE', node, String(this.#maxInterval)).catch(() => {})
    if (this.#ending.size > 0) await this.#retryEnding()
    if (this.#stale) await this.#reconcile().catch(() => {})
    // Another bus may have lost its keys alone: one shard of a cluster restarted empty.
    const beats = await this.#onOthers('BEAT', this.node, String(this.#ttl))
    const lost = joined === 1 ? [...this.#buses.keys()] : beats.flatMap((beat, i) => beat === 1 ? [i + 1] : [])
    if (lost.length > 0 && this.#records.size > 0) await this.#restore(lost)
    await this.#refresh()
  }

  /**
   * Redis lost what this node had put there (it restarted empty), or the other nodes
   * took this node for dead: put back, on the buses that lost them, the sessions it
   * holds and its interest.
   */
  async #restore (buses: number[]): Promise<void> {
    let movedAway = 0
    for (const bus of buses) {
      const index = this.#indexes[bus]!
      for (const [id, record] of this.#records) {
        if (await this.#runOn(bus, 'RESTORE', this.node, String(this.#ttl), id, record, ...index.patternsOf(id)) === 1 || bus > 0) continue
        // Handed over to its claimer while the script ran: let go already.
        if (!this.#records.has(id)) continue
        // Taken over by another node while this one was taken for dead: it lives there now,
        // and a copy kept here would get no event, or serve its client twice.
        this.#host!.release(id)
        this.#forget(id)
        movedAway++
      }
      const pairs: string[] = []
      for (const pattern of index.patterns()) pairs.push(pattern, String(index.count(pattern)))
      if (pairs.length > 0) await this.#runOn(bus, 'REINDEX', this.node, ...pairs)
    }
    this.#host!.warn(`Redis had lost this node's sessions (it restarted empty, or the other nodes took this one for dead): put back ${this.#records.size}, let go ${movedAway} that another node had taken over meanwhile`, undefined)
  }

  /**
   * The listener connection came back: what was sent to this node meanwhile is lost,
   * claims ('c', or none when a claim took the node for dead, not listening) and moves
   * ('l') of sessions held here among them, and the markers ('m') of its own claims.
   * Each bus is asked, in one script per thousand sessions, which of them it names
   * another node for, and to mark again those held here but missing from its index; its
   * answer comes on this node's channel, behind what came since the listener was back
   * ('o', 'a'). Tried again at each heartbeat until it goes through.
   */
  async #reconcile (): Promise<void> {
    this.#stale = false
    try {
      for (const [bus, index] of this.#indexes.entries()) {
        // Ids taken at once: the CREATE or COPY of each went out before this script.
        const routed: string[] = []
        const unmarked: string[] = []
        for (const id of this.#records.keys()) {
          if (index.has(id)) routed.push(id)
          else if (!this.#leaving.has(id) && !this.#claims.has(id)) unmarked.push(id)
        }
        // Each run is told how many of its ids, first, are routed here.
        await inRuns([...routed, ...unmarked], async (batch, from) => {
          await this.#runOn(bus, 'STALE', this.node, String(Math.max(0, Math.min(batch.length, routed.length - from))), ...batch)
        })
      }
    } catch (error) {
      this.#stale = true
      throw error
    }
  }

  /**
   * Sessions a bus names another node for (#reconcile): this node missed their claim or
   * move. On the first bus, its copies go, without session events: their clients are
   * served elsewhere, and would otherwise see them expire here and fire `disconnect`.
   * On another bus, as if its 'l' had come. Sessions moving here or leaving from here
   * go on as they do.
   */
  #letGo (ids: readonly string[], bus: number): void {
    let dropped = 0
    for (const id of ids) {
      if (this.#claims.has(id) || this.#arrivals.has(id)) continue
      if (bus > 0) {
        this.#indexes[bus]!.delete(id)
        this.#leaveWhenFree(id)
      } else if (!this.#leaving.has(id) && this.#records.has(id)) {
        this.#host!.release(id)
        this.#forget(id)
        dropped++
      }
    }
    if (dropped > 0) this.#host!.warn(`this node's Redis listener had dropped: let go ${dropped} sessions that other nodes took over meanwhile`, undefined)
  }

  /** Keeps the keys of the sessions and patterns this node holds alive, a third of their TTL at a time. */
  async #refresh (): Promise<void> {
    const now = Date.now()
    if (now - this.#lastRefresh < this.#ttl / 3) return
    this.#lastRefresh = now
    await this.#onAll('KEEP', this.node, String(this.#ttl))
    await inRuns([...this.#records.keys()], async (batch) => { await this.#onAll('REFRESH', String(this.#ttl), ...batch) })
  }

  #channel (node: string, bus = 0): string {
    return `${this.#buses[bus]}n:${node}`
  }

  /** The buses but the first. */
  #otherBuses (): number[] {
    return Array.from({ length: this.#buses.length - 1 }, (_, i) => i + 1)
  }

  /** Runs a script on every bus but the first, at once; their results in bus order. */
  async #onOthers (name: ScriptName, ...args: string[]): Promise<unknown[]> {
    return await Promise.all(this.#otherBuses().map(bus => this.#runOn(bus, name, ...args)))
  }

  /** Runs a script on every bus, at once. */
  async #onAll (name: ScriptName, ...args: string[]): Promise<void> {
    if (this.#buses.length === 1) await this.#run(name, ...args)
    else await Promise.all([this.#run(name, ...args), this.#onOthers(name, ...args)])
  }

  /**
   * A session this node ended, whose destroy had not gone through, was found so and
   * destroyed on the first bus: its copies on the other buses go too.
   */
  async #endedElsewhere (sessionId: string): Promise<void> {
    // Should that fail, the session stays kept for the heartbeat's retry, which removes them.
    if (this.#ending.has(sessionId) && !await this.#onOthers('DESTROY', this.node, sessionId).then(() => true, () => false)) return
    this.#endingDone(sessionId)
  }

  /**
   * Sessions that ended on the first bus without their node: their copies on the other
   * buses go. Should that fail, they are left to their TTL: the nodes their interest
   * names hold no such session, and drop what comes for it.
   */
  async #drop (ids: string[]): Promise<void> {
    await this.#onOthers('DROP', ...ids).catch(() => {})
  }

  /**
   * The number of buses of the nodes under this prefix: this node's, kept for three
   * detection times, unless a running node's is kept. On the plain prefix's own hash tag,
   * whose slot, unlike the first bus's, does not depend on the number of buses.
   */
  async #agree (): Promise<string> {
    return await this.#runAt(`{${this.#prefix}}`, 'AGREE', [String(this.#buses.length), String(3 * this.#detection)]) as string
  }

  /** Runs a script on the first bus. */
  #run (name: ScriptName, ...args: string[]): Promise<unknown> {
    return this.#runOn(0, name, ...args)
  }

  /** Runs a script on a bus. */
  #runOn (bus: number, name: ScriptName, ...args: string[]): Promise<unknown> {
    return this.#runAt(this.#buses[bus]!, name, args)
  }

  /** Runs a script on the shard of a key prefix (a bus's); Redis's status follows from whether it could. */
  async #runAt (keys: string, name: ScriptName, args: string[]): Promise<unknown> {
    if (!operations.hasSubscribers) return this.#evaluate(keys, name, args)
    try {
      const result = await this.#evaluate(keys, name, args)
      operations.publish({ engine: this, operation: name.toLowerCase() })
      return result
    } catch (error) {
      operations.publish({ engine: this, operation: name.toLowerCase(), error })
      throw error
    }
  }

  async #evaluate (keys: string, name: ScriptName, args: string[]): Promise<unknown> {
    const client = this.#client
    if (client === undefined || !client.ready) throw this.#unavailable()
    const answersBefore = this.#answers
    let result: unknown
    try {
      // Any key of the prefix routes the script to its shard on a cluster.
      result = await client.run(this.#scripts[name], `${keys}nodes`, [keys, ...args])
    } catch (error) {
      if (isReply(error)) {
        this.#answers++
        throw error
      }
      // A reply later than the command timeout while Redis answers: this process is slow
      // (a starved event loop, a long queue), Redis is there. The command fails, but the
      // status stays: taking Redis for away would fail readiness and log an outage per
      // burst of late replies.
      if (isTimeout(error) && await this.#answering(client, answersBefore)) throw this.#late(error)
      throw this.#unavailable(error)
    }
    this.#answers++
    if (!this.#available) {
      this.#status(true)
      // Back from an outage: put back at once what Redis may have lost, not at the next
      // heartbeat; unless this node is leaving, which a heartbeat would undo.
      if (!this.#closed) this.#beat().catch(() => {})
    }
    return result
  }

  /**
   * After a command got no reply in time: whether Redis answered another command since
   * it was sent (it waited behind a long queue), or answers a probe now. The probe is
   * for a process held past the timeout, whose timers run before it reads the replies
   * waiting in its socket. Commands that time out together share one probe.
   */
  async #answering (client: RedisConnection, answersBefore: number): Promise<boolean> {
    if (this.#answers > answersBefore) return true
    if (this.#probe === undefined) {
      const probe = this.#probe = client.run(this.#scripts.PROBE, `${this.#buses[0]}nodes`, []).then(() => true, () => false)
      probe.finally(() => { if (this.#probe === probe) this.#probe = undefined }).catch(() => {})
    }
    return await this.#probe
  }

  #unavailable (cause?: unknown): BayeuxServerError {
    this.#status(false, cause instanceof Error ? cause : undefined)
    return new BayeuxServerError('BAYEUX_ERR_ENGINE_UNAVAILABLE', `Redis at ${this.#url} is not available`, { cause })
  }

  #late (cause: unknown): BayeuxServerError {
    return new BayeuxServerError('BAYEUX_ERR_ENGINE_UNAVAILABLE', `Redis at ${this.#url} did not answer in time`, { cause })
  }

  #status (available: boolean, error?: Error): void {
    if (available === this.#available) return
    this.#available = available
    this.#host?.statusChanged(available, error)
  }
}

/** Runs `run` on `ids` IDS_PER_RUN at a time, one run after the other; `from`: the index of a run's first id. */
async function inRuns (ids: readonly string[], run: (batch: string[], from: number) => Promise<void>): Promise<void> {
  for (let from = 0; from < ids.length; from += IDS_PER_RUN) await run(ids.slice(from, from + IDS_PER_RUN), from)
}

/** A channel's expansion as JSON, made once per channel: a channel keeps one expansion array. */
const expansionJsons = new WeakMap<readonly string[], string>()

function expansionJson (expansion: readonly string[]): string {
  let json = expansionJsons.get(expansion)
  if (json === undefined) expansionJsons.set(expansion, json = JSON.stringify(expansion))
  return json
}

/** The bus of a publisher's events: one for all of them, so that they keep their order. */
export function busOf (publisher: string, buses: number): number {
  let hash = 0
  for (let i = 0; i < publisher.length; i++) hash = (hash * 31 + publisher.charCodeAt(i)) >>> 0
  return hash % buses
}

/** Waits for `promise`, or `ms` at most: whether it settled. */
async function within (promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const settled = await Promise.race([promise.then(() => true), new Promise<boolean>(resolve => { timer = setTimeout(() => resolve(false), ms) })])
  clearTimeout(timer)
  return settled
}
