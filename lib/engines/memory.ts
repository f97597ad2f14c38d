import type { OutgoingEvent } from '../protocol/outgoing-event.ts'
import type { Engine, EngineHost } from './engine.ts'

/** The single-process engine: subscriptions in maps, delivery by direct call. */
export class MemoryEngine implements Engine {
  #host: EngineHost | undefined
  /** pattern → sessions subscribed to it */
  readonly #subscribers = new Map<string, Set<string>>()
  /** session → its patterns, so destroying a session is O(its subscriptions) */
  readonly #sessions = new Map<string, Set<string>>()

  start (host: EngineHost): void {
    this.#host = host
  }

  createSession (sessionId: string): void {
    if (!this.#sessions.has(sessionId)) this.#sessions.set(sessionId, new Set())
  }

  destroySession (sessionId: string): void {
    const patterns = this.#sessions.get(sessionId)
    if (patterns === undefined) return
    for (const pattern of patterns) this.#remove(sessionId, pattern)
    this.#sessions.delete(sessionId)
  }

  subscribe (sessionId: string, pattern: string): void {
    const patterns = this.#sessions.get(sessionId)
    if (patterns === undefined) return
    patterns.add(pattern)
    let subscribers = this.#subscribers.get(pattern)
    if (subscribers === undefined) this.#subscribers.set(pattern, subscribers = new Set())
    subscribers.add(sessionId)
  }

  unsubscribe (sessionId: string, pattern: string): void {
    this.#sessions.get(sessionId)?.delete(pattern)
    this.#remove(sessionId, pattern)
  }

  publish (event: OutgoingEvent, expansion: readonly string[]): void {
    const host = this.#host!
    // Most publishes match subscribers under one key only: deliver straight from
    // that set, and pay for de-duplication only when several keys have subscribers.
    let first: Set<string> | undefined
    let seen: Set<string> | undefined
    for (const key of expansion) {
      const subscribers = this.#subscribers.get(key)
      if (subscribers === undefined) continue
      if (first === undefined) {
        first = subscribers
        continue
      }
      seen ??= new Set(first)
      for (const id of subscribers) seen.add(id)
    }
    for (const id of seen ?? first ?? []) host.deliver(id, event)
  }

  close (): void {
    this.#subscribers.clear()
    this.#sessions.clear()
  }

  #remove (sessionId: string, pattern: string): void {
    const subscribers = this.#subscribers.get(pattern)
    if (subscribers === undefined) return
    subscribers.delete(sessionId)
    if (subscribers.size === 0) this.#subscribers.delete(pattern)
  }
}
