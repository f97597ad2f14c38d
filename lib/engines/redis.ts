import { randomBytes } from 'node:crypto'
import diagnosticsChannel from 'node:diagnostics_channel'
import { createClient } from '@redis/client'
import { BayeuxServerError } from '../errors.ts'
import { OutgoingEvent } from '../protocol/outgoing-event.ts'
import type { EventMessage } from '../protocol/message.ts'
import type { ClaimedSession, Engine, EngineHost, RemoteSession, SessionRecord, SessionState } from './engine.ts'
import * as scripts from './redis-scripts.ts'
import { SubscriptionIndex } from './subscription-index.ts'

export interface RedisEngineOptions {
  /** Default: `redis://127.0.0.1:6379`. */
  url?: string
  /** Namespaces every key and Redis channel, so that clusters share a Redis; default `bayeux:`. */
  prefix?: string
  /** ms between a node's heartbeats; default 1,000. */
  heartbeat?: number
  /** ms of silence after which the other nodes take a node for dead; default 5,000. */
  detection?: number
  /** ms a node waits for a session's previous node to hand it over; default 2,000. */
  handoverTimeout?: number
}

/**
 * Without an offline queue, commands fail at once while Redis is away: memory stays
 * bounded and publishes get an error instead of waiting.
 */
function connectTo (url: string) {
  return createClient({ url, disableOfflineQueue: true })
}

type Client = ReturnType<typeof connectTo>

/** The metrics' hook (lib/diagnostics.ts): engines publish on it by name, without importing the server. */
const operations = diagnosticsChannel.channel('bayeux-server:engine')
type ScriptName = keyof typeof scripts

/** A session moving here: the events that arrive for it until its state is in. */
interface Arrival {
  readonly events: OutgoingEvent[]
  state: SessionState | undefined
  /** Resolves when the previous node has handed the session over. */
  handedOver: () => void
}

/** How a session's state travels between nodes. */
interface WireState {
  q: EventMessage[]
  u?: { e: EventMessage[], b: number[], n: number }
  c: boolean
  i: number
  t?: string
  a: Record<string, unknown>
}

/**
 * Many nodes on one Redis (docs/cluster.md). Each session lives on one node, the one
 * that received its latest connect or holds its WebSocket, and moves when a connect
 * arrives elsewhere; other requests are served wherever they land. A publish is one
 * script run that sends the event once to each node with interested sessions, which
 * fan it out locally; every change of ownership or subscription goes through a script
 * too, and a node's messages come on one Redis channel, so they stay in order.
 */
export class RedisEngine implements Engine {
  /** This node's id in Redis. */
  readonly node = randomBytes(8).toString('hex')
  readonly #url: string
  readonly #prefix: string
  readonly #heartbeatEvery: number
  readonly #detection: number
  readonly #handoverTimeout: number
  readonly #index = new SubscriptionIndex()
  /** Records of the sessions this node holds, as stored (JSON), to put back after Redis lost them. */
  readonly #records = new Map<string, string>()
  readonly #arrivals = new Map<string, Arrival>()
  readonly #shas = new Map<ScriptName, string>()
  #host: EngineHost | undefined
  #client: Client | undefined
  #subscriber: Client | undefined
  #timer: NodeJS.Timeout | undefined
  #ttl = 0
  #maxInterval = 0
  #available = true
  #lastRefresh = 0
  #closed = false

  constructor (options: RedisEngineOptions = {}) {
    this.#url = options.url ?? 'redis://127.0.0.1:6379'
    this.#prefix = options.prefix ?? 'bayeux:'
    this.#heartbeatEvery = options.heartbeat ?? 1000
    this.#detection = options.detection ?? 5000
    this.#handoverTimeout = options.handoverTimeout ?? 2000
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
    this.#maxInterval = host.maxInterval
    // A session's keys outlive any gap between its connects, and a dead node's detection.
    this.#ttl = host.timeout + 2 * host.maxInterval + this.#detection
    const client = connectTo(this.#url)
    client.on('error', (error: Error) => this.#status(false, error))
    client.on('ready', () => this.#status(true))
    const subscriber = client.duplicate()
    subscriber.on('error', () => {})
    this.#client = client
    this.#subscriber = subscriber
    await client.connect()
    await subscriber.connect()
    await subscriber.subscribe(this.#channel(this.node), this.#receive)
    await this.#beat()
    this.#timer = setInterval(() => { this.#beat().catch(() => {}) }, this.#heartbeatEvery).unref()
  }

  async createSession (sessionId: string, record: SessionRecord): Promise<void> {
    const json = JSON.stringify(record)
    this.#index.add(sessionId)
    this.#records.set(sessionId, json)
    await this.#run('CREATE', sessionId, this.node, json, String(this.#ttl))
  }

  async destroySession (sessionId: string): Promise<void> {
    this.#forget(sessionId)
    await this.#run('DESTROY', sessionId, this.node)
  }

  async subscribe (sessionId: string, pattern: string): Promise<void> {
    await this.#run('SUBSCRIBE', sessionId, pattern, '1')
  }

  async unsubscribe (sessionId: string, pattern: string): Promise<void> {
    await this.#run('SUBSCRIBE', sessionId, pattern, '-1')
  }

  async publish (event: OutgoingEvent, expansion: readonly string[]): Promise<void> {
    await this.#run('PUBLISH', `e${JSON.stringify(expansion)}\n${event.json}`, ...expansion)
  }

  async deliver (sessionId: string, event: OutgoingEvent): Promise<boolean> {
    return await this.#run('DELIVER', sessionId, `d${sessionId}\n${event.json}`) === 1
  }

  async find (sessionId: string): Promise<RemoteSession | undefined> {
    const found = await this.#run('FIND', sessionId, String(this.#detection)) as [string, number, string[]] | null
    if (found === null) return undefined
    return { record: JSON.parse(found[0]) as SessionRecord, socketOpen: found[1] === 1, subscriptions: found[2] }
  }

  async claim (sessionId: string, { socket }: { socket: boolean }): Promise<ClaimedSession | undefined> {
    if (this.#arrivals.has(sessionId)) return undefined
    // Registered before the script runs: its marker may come before its reply does.
    let handedOver!: () => void
    const state = new Promise<void>(resolve => { handedOver = resolve })
    const arrival: Arrival = { events: [], state: undefined, handedOver }
    this.#arrivals.set(sessionId, arrival)
    let claimed: [string, 'moved' | 'orphan' | 'here', string[]] | 'busy' | null
    try {
      claimed = await this.#run('CLAIM', sessionId, this.node, String(this.#detection), socket ? '1' : '0', String(this.#ttl)) as typeof claimed
    } catch (error) {
      this.#arrivals.delete(sessionId)
      throw error
    }
    if (claimed === null || claimed === 'busy') {
      this.#arrivals.delete(sessionId)
      return undefined
    }
    const [json, how, subscriptions] = claimed
    if (how === 'moved') await timeout(state, this.#handoverTimeout)
    else if (how === 'here') this.#adopt(sessionId, subscriptions)
    // Synchronous from here on: no message of this node's channel comes in between.
    this.#arrivals.delete(sessionId)
    this.#records.set(sessionId, json)
    const handed = arrival.state
    const queued = [...(handed?.queued ?? []), ...arrival.events]
    return {
      record: JSON.parse(json) as SessionRecord,
      subscriptions,
      socketOpen: false,
      state: handed === undefined ? (queued.length > 0 ? { queued, connected: false, interval: 0, transport: undefined, attributes: {} } : undefined) : { ...handed, queued }
    }
  }

  async socketBound (sessionId: string, open: boolean): Promise<void> {
    await this.#run('SOCKET', sessionId, this.node, open ? '1' : '0')
  }

  async endSession (sessionId: string, reason: 'client' | 'server'): Promise<void> {
    await this.#run('END', sessionId, reason, String(this.#detection))
  }

  async sessionCount (): Promise<number> {
    return await this.#run('COUNT') as number
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#timer)
    // The others take this node's sessions over at their next heartbeat, without waiting for detection.
    await this.#run('LEAVE', this.node).catch(() => {})
    this.#subscriber?.destroy()
    this.#client?.destroy()
    this.#index.clear()
    this.#records.clear()
  }

  /** A message on this node's channel; its first letter says what it is. */
  readonly #receive = (message: string): void => {
    try {
      this.#dispatch(message)
    } catch (error) {
      // A message this node cannot read must not stop the ones after it.
      this.#host!.warn('a message from another node could not be read', error)
    }
  }

  #dispatch (message: string): void {
    const host = this.#host!
    const kind = message[0]
    const newline = message.indexOf('\n')
    const head = message.slice(1, newline)
    const rest = message.slice(newline + 1)
    switch (kind) {
      case 'e': {
        const event = OutgoingEvent.fromJSON(rest)
        for (const id of this.#index.match(JSON.parse(head) as string[])) this.#deliverLocal(id, event)
        return
      }
      case 'd':
        if (this.#index.has(head)) this.#deliverLocal(head, OutgoingEvent.fromJSON(rest))
        return
      case 's':
        if (this.#index.subscribe(head, rest)) host.subscribed(head, rest)
        return
      case 'u':
        if (this.#index.unsubscribe(head, rest)) host.unsubscribed(head, rest)
        return
      case 'm':
        // The session is ours from here: later events are its own, after what is handed over.
        this.#adopt(head, rest === '' ? [] : rest.split('\n'))
        return
      case 'c':
        this.#handOver(head, rest)
        return
      case 'h': {
        const arrival = this.#arrivals.get(head)
        if (arrival === undefined) return
        arrival.state = fromWire(JSON.parse(rest) as WireState)
        arrival.handedOver()
        return
      }
      case 'x':
        host.endSession(head, rest === 'server' ? 'server' : 'client')
    }
  }

  #deliverLocal (sessionId: string, event: OutgoingEvent): void {
    const arrival = this.#arrivals.size > 0 ? this.#arrivals.get(sessionId) : undefined
    if (arrival !== undefined) arrival.events.push(event)
    else this.#host!.deliver(sessionId, event)
  }

  #adopt (sessionId: string, subscriptions: readonly string[]): void {
    this.#index.add(sessionId)
    for (const pattern of subscriptions) this.#index.subscribe(sessionId, pattern)
  }

  /** Another node claimed a session of ours: send it what we had. */
  #handOver (sessionId: string, node: string): void {
    const state = this.#host!.release(sessionId)
    this.#forget(sessionId)
    const wire = state === undefined ? { q: [], c: false, i: 0, a: {} } : toWire(state)
    this.#client!.publish(this.#channel(node), `h${sessionId}\n${JSON.stringify(wire)}`).catch(() => {})
  }

  #forget (sessionId: string): void {
    this.#index.delete(sessionId)
    this.#records.delete(sessionId)
  }

  async #beat (): Promise<void> {
    const [joined] = await this.#run('HEARTBEAT', this.node, String(this.#detection), String(this.#maxInterval), String(this.#ttl)) as [number, string[]]
    if (joined === 1 && this.#records.size > 0) await this.#restore()
    await this.#refresh()
  }

  /**
   * Redis lost what this node had put there (it restarted empty), or the other nodes
   * took this node for dead: put back the sessions it holds and its interest.
   */
  async #restore (): Promise<void> {
    for (const [id, record] of this.#records) {
      await this.#run('RESTORE', this.node, String(this.#ttl), id, record, ...this.#index.patternsOf(id))
    }
    const pairs: string[] = []
    for (const pattern of this.#index.patterns()) pairs.push(pattern, String(this.#index.count(pattern)))
    if (pairs.length > 0) await this.#run('REINDEX', this.node, ...pairs)
  }

  /** Keeps the keys of sessions this node holds alive, a third of their TTL at a time. */
  async #refresh (): Promise<void> {
    const now = Date.now()
    if (now - this.#lastRefresh < this.#ttl / 3) return
    this.#lastRefresh = now
    const ids = [...this.#records.keys()]
    for (let i = 0; i < ids.length; i += 1000) await this.#run('REFRESH', String(this.#ttl), ...ids.slice(i, i + 1000))
  }

  #channel (node: string): string {
    return `${this.#prefix}n:${node}`
  }

  /** Runs a script by its SHA, loading it when Redis does not have it (it restarted). */
  async #run (name: ScriptName, ...args: string[]): Promise<unknown> {
    if (!operations.hasSubscribers) return this.#evaluate(name, args)
    try {
      const result = await this.#evaluate(name, args)
      operations.publish({ engine: this, operation: name.toLowerCase() })
      return result
    } catch (error) {
      operations.publish({ engine: this, operation: name.toLowerCase(), error })
      throw error
    }
  }

  async #evaluate (name: ScriptName, args: string[]): Promise<unknown> {
    const client = this.#client
    if (client === undefined || !client.isReady) throw this.#unavailable()
    const options = { arguments: [this.#prefix, ...args] }
    try {
      let sha = this.#shas.get(name)
      if (sha === undefined) this.#shas.set(name, sha = await client.scriptLoad(scripts[name]))
      try {
        return await client.evalSha(sha, options)
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
        this.#shas.set(name, sha = await client.scriptLoad(scripts[name]))
        return await client.evalSha(sha, options)
      }
    } catch (error) {
      if (error instanceof BayeuxServerError) throw error
      throw this.#unavailable(error)
    }
  }

  #unavailable (cause?: unknown): BayeuxServerError {
    return new BayeuxServerError('BAYEUX_ERR_ENGINE_UNAVAILABLE', `Redis at ${this.#url} is not available`, { cause })
  }

  #status (available: boolean, error?: Error): void {
    if (available === this.#available) return
    this.#available = available
    this.#host?.statusChanged(available, error)
  }
}

function toWire (state: SessionState): WireState {
  return {
    q: state.queued.map(event => event.message as EventMessage),
    ...(state.unacked !== undefined && { u: { e: state.unacked.events.map(event => event.message as EventMessage), b: [...state.unacked.batches], n: state.unacked.nextBatch } }),
    c: state.connected,
    i: state.interval,
    ...(state.transport !== undefined && { t: state.transport }),
    a: { ...state.attributes }
  }
}

function fromWire (wire: WireState): SessionState {
  return {
    queued: wire.q.map(message => new OutgoingEvent(message)),
    ...(wire.u !== undefined && { unacked: { events: wire.u.e.map(message => new OutgoingEvent(message)), batches: wire.u.b, nextBatch: wire.u.n } }),
    connected: wire.c,
    interval: wire.i,
    transport: wire.t,
    attributes: wire.a
  }
}

/** Waits for `promise`, or `ms` at most. */
async function timeout (promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([promise, new Promise<void>(resolve => { timer = setTimeout(resolve, ms) })])
  clearTimeout(timer)
}
