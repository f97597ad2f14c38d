import { hasMember, membersOf, sizeOf, withMember, withoutMember } from './members.ts'
import type { Members } from './members.ts'

/**
 * Which sessions are subscribed to which patterns, both ways round: a publish finds
 * its subscribers by the keys of its channel's expansion, and a session that ends is
 * removed in O(its subscriptions). The memory engine routes with one; the Redis engine
 * keeps one per node for the sessions it holds.
 */
export class SubscriptionIndex {
  /** pattern → sessions subscribed to it */
  readonly #subscribers = new Map<string, Members>()
  /** session → its patterns; undefined while it has none */
  readonly #sessions = new Map<string, Members | undefined>()

  get size (): number {
    return this.#sessions.size
  }

  has (sessionId: string): boolean {
    return this.#sessions.has(sessionId)
  }

  add (sessionId: string): void {
    if (!this.#sessions.has(sessionId)) this.#sessions.set(sessionId, undefined)
  }

  delete (sessionId: string): void {
    for (const pattern of membersOf(this.#sessions.get(sessionId))) this.#remove(sessionId, pattern)
    this.#sessions.delete(sessionId)
  }

  /** Subscribes a known session; false when it was subscribed already or is unknown. */
  subscribe (sessionId: string, pattern: string): boolean {
    const patterns = this.#sessions.get(sessionId)
    if (!this.#sessions.has(sessionId) || hasMember(patterns, pattern)) return false
    this.#sessions.set(sessionId, withMember(patterns, pattern))
    this.#subscribers.set(pattern, withMember(this.#subscribers.get(pattern), sessionId))
    return true
  }

  /** False when the session was not subscribed. */
  unsubscribe (sessionId: string, pattern: string): boolean {
    const patterns = this.#sessions.get(sessionId)
    if (patterns === undefined || !hasMember(patterns, pattern)) return false
    this.#sessions.set(sessionId, withoutMember(patterns, pattern))
    this.#remove(sessionId, pattern)
    return true
  }

  patternsOf (sessionId: string): Iterable<string> {
    return membersOf(this.#sessions.get(sessionId))
  }

  /** Patterns some session is subscribed to. */
  patterns (): IterableIterator<string> {
    return this.#subscribers.keys()
  }

  /** Sessions to count for `pattern`. */
  count (pattern: string): number {
    return sizeOf(this.#subscribers.get(pattern))
  }

  /**
   * Every session subscribed to a key of `expansion`, once however many of its keys
   * match (C60).
   */
  match (expansion: readonly string[]): Iterable<string> {
    // Most publishes match subscribers under one key only: answer with those, and
    // pay for de-duplication only when several keys have subscribers.
    let first: Members | undefined
    let seen: Set<string> | undefined
    for (const key of expansion) {
      const subscribers = this.#subscribers.get(key)
      if (subscribers === undefined) continue
      if (first === undefined) {
        first = subscribers
        continue
      }
      seen ??= new Set(membersOf(first))
      for (const id of membersOf(subscribers)) seen.add(id)
    }
    return seen ?? membersOf(first)
  }

  clear (): void {
    this.#subscribers.clear()
    this.#sessions.clear()
  }

  #remove (sessionId: string, pattern: string): void {
    const subscribers = this.#subscribers.get(pattern)
    if (subscribers !== undefined && withoutMember(subscribers, sessionId) === undefined) this.#subscribers.delete(pattern)
  }
}
