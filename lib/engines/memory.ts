import type { OutgoingEvent } from '../protocol/outgoing-event.ts'
import type { Engine, EngineHost } from './engine.ts'
import { SubscriptionIndex } from './subscription-index.ts'

/** The single-process engine: subscriptions in maps, delivery by direct call. */
export class MemoryEngine implements Engine {
  #host: EngineHost | undefined
  readonly #index = new SubscriptionIndex()

  start (host: EngineHost): void {
    this.#host = host
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

  publish (event: OutgoingEvent, expansion: readonly string[]): void {
    const host = this.#host!
    for (const id of this.#index.match(expansion)) host.deliver(id, event)
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
    this.#index.clear()
  }
}
