/**
 * Prometheus metrics of one server, fed by its diagnostics_channel events
 * (lib/diagnostics.ts) and, for gauges, read from the core's state at scrape time.
 * Events only bump plain numbers; prom-client sees them when Prometheus scrapes, so
 * the hot path pays for a few additions, not for prom-client's label hashing.
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { BAD_INPUT_REASONS } from '../diagnostics.ts'
import type { Engine } from '../engines/engine.ts'
import type { Message, Reply } from '../protocol/message.ts'
import type { ServerCore } from '../server/core.ts'
import type { EndReason, Session } from '../server/session.ts'

/** The `type` label of messages: what a message asks for, by its channel. */
export const MESSAGE_TYPES = ['handshake', 'connect', 'subscribe', 'unsubscribe', 'disconnect', 'publish'] as const
export type MessageType = typeof MESSAGE_TYPES[number]

const META_TYPES: ReadonlyMap<string, number> = new Map(MESSAGE_TYPES.slice(0, 5).map((type, index) => [`/meta/${type}`, index]))
const PUBLISH = MESSAGE_TYPES.indexOf('publish')
const HANDSHAKE = MESSAGE_TYPES.indexOf('handshake')

/** The index in MESSAGE_TYPES of a message on `channel`; any other channel is handled as a publish. */
export function messageTypeIndex (channel: string): number {
  return META_TYPES.get(channel) ?? PUBLISH
}

/** Seconds; from a tenth of a millisecond (a lone publish on an idle server) to seconds (slow extensions, policies). */
const DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

/** What metrics read of the diagnostics events (lib/diagnostics.ts documents them). */
interface Published { readonly server?: object }
interface MessageEvent extends Published { readonly message: Message, readonly transport: string, readonly session: Session | undefined, readonly duration: number }
interface ReplyEvent extends Published { readonly replies: readonly Reply[] }
interface DeliverEvent extends Published { readonly transport: string, readonly count: number }
interface DestroyEvent extends Published { readonly reason: EndReason }
interface BadInputEvent extends Published { readonly reason: string }
interface EngineEvent { readonly engine: Engine, readonly operation: string, readonly error?: unknown }

/** Counts by one label value, as plain numbers until a scrape. */
class Tally {
  readonly counts = new Map<string, number>()

  constructor (known: Iterable<string> = []) {
    for (const value of known) this.counts.set(value, 0)
  }

  add (value: string, count = 1): void {
    this.counts.set(value, (this.counts.get(value) ?? 0) + count)
  }
}

export interface MetricsOptions {
  /** prom-client's default process metrics (CPU, memory, event-loop lag, GC); default true. */
  readonly processMetrics?: boolean
}

/**
 * The metrics of one server core. Diagnostics channels are process-wide: events of
 * other servers in the process (their `server` differs) are ignored.
 */
export class BayeuxMetrics {
  readonly registry = new Registry()
  readonly #core: ServerCore
  readonly #server: object
  /** transport → counts by MESSAGE_TYPES index */
  readonly #received = new Map<string, number[]>()
  readonly #delivered: Tally
  readonly #errors = new Tally()
  readonly #badInput = new Tally(Object.keys(BAD_INPUT_REASONS))
  readonly #engineOperations = new Tally()
  readonly #engineFailures = new Tally()
  #expired = 0
  #overflows = 0
  /** The transport of each session's handshake, its label in bayeux_sessions until its first connect. */
  readonly #handshakeTransport = new WeakMap<Session, string>()
  readonly #durations = new ReplyDurations()
  readonly #unsubscribe: Array<() => void> = []

  constructor (core: ServerCore, { processMetrics = true }: MetricsOptions = {}) {
    this.#core = core
    this.#server = core.reporter.server
    const offered = core.options.transports
    for (const transport of offered) this.#received.set(transport, MESSAGE_TYPES.map(() => 0))
    this.#delivered = new Tally(offered)
    const registers = [this.registry]

    const sessionsByTransport = (): Tally => {
      const tally = new Tally(offered)
      // Clients send every message over the transport of their connects: the latest connect's is the latest message's.
      for (const session of core.registry.values()) tally.add(session.transport ?? this.#handshakeTransport.get(session) ?? 'none')
      return tally
    }
    scraped(Gauge, registers, 'bayeux_sessions', 'Live sessions, by the transport of their latest connect (of their handshake before it).', 'transport', sessionsByTransport)
    scraped(Gauge, registers, 'bayeux_connects_held', 'Held /meta/connect requests, on every transport.', undefined, () => core.registry.held)
    scraped(Gauge, registers, 'bayeux_subscriptions', 'Subscriptions of live sessions (channels and patterns, /service/ excepted).', undefined, () => {
      let count = 0
      for (const session of core.registry.values()) count += session.subscriptions.size
      return count
    })
    scraped(Gauge, registers, 'bayeux_channels', 'Channels and patterns with at least one subscriber.', undefined, () => {
      const channels = new Set<string>()
      for (const session of core.registry.values()) for (const channel of session.subscriptions) channels.add(channel)
      return channels.size
    })

    const received = this.#received
    // eslint-disable-next-line no-new
    new Counter({
      name: 'bayeux_messages_received_total',
      help: 'Valid messages received, by transport and type (a publish is any message on a non-meta channel).',
      labelNames: ['transport', 'type'] as const,
      registers,
      collect () {
        this.reset()
        for (const [transport, counts] of received) counts.forEach((count, index) => this.inc({ transport, type: MESSAGE_TYPES[index]! }, count))
      }
    })
    scraped(Counter, registers, 'bayeux_messages_delivered_total', 'Events written to clients, by transport.', 'transport', () => this.#delivered)
    scraped(Counter, registers, 'bayeux_errors_total', 'Error replies sent, by the three-digit Bayeux code of their error.', 'code', () => this.#errors)
    scraped(Counter, registers, 'bayeux_bad_input_total', 'Input refused before it reached the protocol, or failing validation, by reason (BAD_INPUT_REASONS).', 'reason', () => this.#badInput)
    scraped(Counter, registers, 'bayeux_sessions_expired_total', 'Sessions ended because their client stopped connecting (maxInterval).', undefined, () => this.#expired)
    scraped(Counter, registers, 'bayeux_queue_overflows_total', 'Session queues that overflowed: oldest events dropped, or the session ended (queueOverflow).', undefined, () => this.#overflows)
    // A Redis engine publishes bayeux-server:engine; the memory engine has nothing to count.
    scraped(Counter, registers, 'bayeux_engine_operations_total', 'Operations of an engine that talks to a broker, by operation (none with the memory engine).', 'operation', () => this.#engineOperations)
    scraped(Counter, registers, 'bayeux_engine_failures_total', 'Failed operations of an engine that talks to a broker, by operation.', 'operation', () => this.#engineFailures)
    scraped(Gauge, registers, 'bayeux_engine_destroys_pending', 'Sessions ended on this node whose removal the engine has not sent to its broker yet, retried at each heartbeat (none with the memory engine).', undefined, () => destroysPending(core.engine))
    if (processMetrics) collectDefaultMetrics({ register: this.registry })

    this.#listen('bayeux-server:message', this.#onMessage)
    this.#listen('bayeux-server:reply', this.#onReply)
    this.#listen('bayeux-server:deliver', this.#onDeliver)
    this.#listen('bayeux-server:session:destroy', this.#onDestroy)
    this.#listen('bayeux-server:queue:overflow', this.#onOverflow)
    this.#listen('bayeux-server:bad-input', this.#onBadInput)
    this.#listen('bayeux-server:engine', this.#onEngine)
  }

  get contentType (): string {
    return this.registry.contentType
  }

  /** The Prometheus text exposition of every metric. */
  async metrics (): Promise<string> {
    return `${await this.registry.metrics()}\n${this.#durations.text()}`
  }

  /** Stops listening to diagnostics events. Idempotent. */
  close (): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe()
  }

  #listen (name: string, listener: (event: any) => void): void {
    diagnosticsChannel.subscribe(name, listener)
    this.#unsubscribe.push(() => diagnosticsChannel.unsubscribe(name, listener))
  }

  readonly #onMessage = (event: MessageEvent): void => {
    if (event.server !== this.#server) return
    const type = messageTypeIndex(event.message.channel)
    let counts = this.#received.get(event.transport)
    if (counts === undefined) this.#received.set(event.transport, counts = MESSAGE_TYPES.map(() => 0))
    counts[type]!++
    if (type === HANDSHAKE && event.session !== undefined) this.#handshakeTransport.set(event.session, event.transport)
    this.#durations.observe(type, event.duration / 1000)
  }

  readonly #onReply = (event: ReplyEvent): void => {
    if (event.server !== this.#server) return
    for (const reply of event.replies) {
      if (reply.successful === false && typeof reply.error === 'string') this.#errors.add(reply.error.slice(0, 3))
    }
  }

  readonly #onDeliver = (event: DeliverEvent): void => {
    if (event.server === this.#server) this.#delivered.add(event.transport, event.count)
  }

  readonly #onDestroy = (event: DestroyEvent): void => {
    if (event.server !== this.#server) return
    if (event.reason === 'expired') this.#expired++
    else if (event.reason === 'overflow') this.#overflows++
  }

  readonly #onOverflow = (event: Published): void => {
    if (event.server === this.#server) this.#overflows++
  }

  readonly #onBadInput = (event: BadInputEvent): void => {
    if (event.server === this.#server) this.#badInput.add(event.reason)
  }

  readonly #onEngine = (event: EngineEvent): void => {
    if (event.engine !== this.#core.engine) return
    this.#engineOperations.add(event.operation)
    if (event.error !== undefined) this.#engineFailures.add(event.operation)
  }
}

/** What an engine that talks to a broker declares as `pendingDestroys` (the Redis engine); 0 for the others. */
function destroysPending (engine: Engine): number {
  return (engine as { readonly pendingDestroys?: number }).pendingDestroys ?? 0
}

/**
 * bayeux_reply_duration_seconds, one series per message type, counted in plain arrays
 * and written out by hand: prom-client's Histogram.observe() hashes its labels on every
 * call, which cost more than the rest of the metrics of a message together.
 */
class ReplyDurations {
  static readonly NAME = 'bayeux_reply_duration_seconds'
  static readonly HELP = 'Time from taking up a message to handing its reply to the transport, by type; a held connect counts until it is held.'
  /** Per type: how many durations fell at or below each bound and above the one before, then above the last. */
  readonly #bins = MESSAGE_TYPES.map(() => new Float64Array(DURATION_BUCKETS.length + 1))
  readonly #sums = new Float64Array(MESSAGE_TYPES.length)

  observe (type: number, seconds: number): void {
    const bins = this.#bins[type]!
    let bin = 0
    while (bin < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[bin]!) bin++
    bins[bin]!++
    this.#sums[type]! += seconds
  }

  /** The histogram in the text exposition format, as Prometheus expects it: cumulative buckets, then sum and count. */
  text (): string {
    const { NAME, HELP } = ReplyDurations
    const lines = [`# HELP ${NAME} ${HELP}`, `# TYPE ${NAME} histogram`]
    MESSAGE_TYPES.forEach((type, index) => {
      const bins = this.#bins[index]!
      let cumulative = 0
      DURATION_BUCKETS.forEach((bound, bin) => {
        cumulative += bins[bin]!
        lines.push(`${NAME}_bucket{le="${bound}",type="${type}"} ${cumulative}`)
      })
      cumulative += bins[DURATION_BUCKETS.length]!
      lines.push(`${NAME}_bucket{le="+Inf",type="${type}"} ${cumulative}`, `${NAME}_sum{type="${type}"} ${this.#sums[index]}`, `${NAME}_count{type="${type}"} ${cumulative}`)
    })
    return `${lines.join('\n')}\n`
  }
}

/**
 * A gauge or a counter read at scrape time: one value, or one per value of `label`.
 * A counter's totals are kept elsewhere and copied in; after the reset, `inc` sets either.
 */
function scraped (Metric: typeof Gauge | typeof Counter, registers: Registry[], name: string, help: string, label: string | undefined, read: () => number | Tally): void {
  // eslint-disable-next-line no-new
  new Metric({
    name,
    help,
    labelNames: label === undefined ? [] : [label],
    registers,
    collect () {
      this.reset()
      const value = read()
      if (typeof value === 'number') this.inc(value)
      else for (const [labelValue, count] of value.counts) this.inc({ [label!]: labelValue }, count)
    }
  })
}
