import { patternMatches } from '../protocol/channel.ts'
import { HistoricEvent } from '../protocol/historic-event.ts'
import type { OutgoingEvent } from '../protocol/outgoing-event.ts'
import { ChannelHistory } from './channel-history.ts'
import type { Engine, EngineHost, HistoryLimits } from './engine.ts'
import { SubscriptionIndex } from './subscription-index.ts'

/** ms between sweeps of the histories of quiet channels, at most. */
const SWEEP_EVERY = 60_000

/** The single-process engine: subscriptions in maps, delivery by direct call, history in rings. */
export class MemoryEngine implements Engine {
  #host: EngineHost | undefined
  readonly #index = new SubscriptionIndex()
  readonly #histories = new Map<string, ChannelHistory>()
  #limits: HistoryLimits | undefined
  /** The latest replay id issued, on any channel. */
  #latestId = 0
  #sweeper: NodeJS.Timeout | undefined

  start (host: EngineHost): void {
    this.#host = host
    this.#limits = host.history
    if (this.#limits !== undefined) this.#sweeper = setInterval(() => this.#sweep(), Math.min(this.#limits.ttl, SWEEP_EVERY)).unref()
  }

  createSession (sessionId: string): void {
    this.#index.add(sessionId)
  }

  destroySession (sessionId: string): void {
    this.#index.delete(sessionId)
  }

  subscribe (sessionId: string, pattern: string): void {
    this.#index.subscribe(sessionId, pattern)
  }

  unsubscribe (sessionId: string, pattern: string): void {
    this.#index.unsubscribe(sessionId, pattern)
  }

  publish (published: OutgoingEvent | HistoricEvent, expansion: readonly string[]): void {
    const host = this.#host!
    const event = published instanceof HistoricEvent ? this.#record(published) : published
    for (const id of this.#index.match(expansion)) host.deliver(id, event)
  }

  history (pattern: string, after: number | undefined, limit: number): OutgoingEvent[] | undefined {
    const oldest = Date.now() - (this.#limits?.ttl ?? 0)
    if (!pattern.endsWith('*')) {
      const history = this.#histories.get(pattern)
      history?.expire(oldest)
      if (history === undefined) return after === undefined ? [] : undefined
      return history.read(after, limit)
    }
    const events: OutgoingEvent[] = []
    for (const [channel, history] of this.#histories) {
      if (!patternMatches(pattern, channel)) continue
      history.expire(oldest)
      events.push(...history.read(undefined, limit)!)
    }
    // Ids increase across channels: in id order, events of different channels are in publish order.
    return events.sort((a, b) => a.replayId! - b.replayId!).slice(0, limit)
  }

  deliver (sessionId: string, event: OutgoingEvent): boolean {
    if (!this.#index.has(sessionId)) return false
    this.#host!.deliver(sessionId, event)
    return true
  }

  /** Every session is local: there is nowhere else to look. */
  find (): undefined {
    return undefined
  }

  claim (): undefined {
    return undefined
  }

  /** Sessions live and die with this process: there is nothing to recover acknowledgements for. */
  batchSent (): void {}

  acknowledged (): void {}

  socketBound (): void {}

  endSession (sessionId: string, reason: 'client' | 'server'): void {
    if (this.#index.has(sessionId)) this.#host!.endSession(sessionId, reason)
  }

  sessionCount (): number {
    return this.#index.size
  }

  close (): void {
    clearInterval(this.#sweeper)
    this.#index.clear()
    this.#histories.clear()
  }

  /**
   * Gives the event the next replay id and keeps it. An id is above every id issued
   * before, on any channel (so ids are in publish order across channels), and at
   * least the microsecond of its publish, so that a restarted process, whose history
   * is gone, never issues an id it issued before.
   */
  #record (historic: HistoricEvent): OutgoingEvent {
    const now = Date.now()
    let history = this.#histories.get(historic.channel)
    if (history === undefined) this.#histories.set(historic.channel, history = new ChannelHistory(this.#limits!.size))
    const event = historic.stamp(this.#latestId = Math.max(this.#latestId + 1, now * 1000))
    history.add(event, now)
    return event
  }

  /** Forgets the histories whose every event expired: a channel nobody publishes on costs nothing. */
  #sweep (): void {
    const oldest = Date.now() - this.#limits!.ttl
    for (const [channel, history] of this.#histories) {
      history.expire(oldest)
      if (history.size === 0) this.#histories.delete(channel)
    }
  }
}
