/**
 * Which sessions are subscribed to which patterns, both ways round: a publish finds
 * its subscribers by the keys of its channel's expansion, and a session that ends is
 * removed in O(its subscriptions). The memory engine routes with one; the Redis engine
 * keeps one per node for the sessions it holds.
 */
export class SubscriptionIndex {
  /** pattern → sessions subscribed to it */
  readonly #subscribers = new Map<string, Set<string>>()
  /** session → its patterns */
  readonly #sessions = new Map<string, Set<string>>()

  get size (): number {
    return this.#sessions.size
  }

  has (sessionId: string): boolean {
    return this.#sessions.has(sessionId)
  }

  add (sessionId: string): void {
    if (!this.#sessions.has(sessionId)) this.#sessions.set(sessionId, new Set())
  }

  /** Forgets the session; returns the patterns it had. */
  delete (sessionId: string): ReadonlySet<string> {
    const patterns = this.#sessions.get(sessionId)
    if (patterns === undefined) return new Set()
    for (const pattern of patterns) this.#remove(sessionId, pattern)
    this.#sessions.delete(sessionId)
    return patterns
  }

  /** Subscribes a known session; false when it was subscribed already or is unknown. */
  subscribe (sessionId: string, pattern: string): boolean {
    const patterns = this.#sessions.get(sessionId)
    if (patterns === undefined || patterns.has(pattern)) return false
    patterns.add(pattern)
    let subscribers = this.#subscribers.get(pattern)
    if (subscribers === undefined) this.#subscribers.set(pattern, subscribers = new Set())
    subscribers.add(sessionId)
    return true
  }

  /** False when the session was not subscribed. */
  unsubscribe (sessionId: string, pattern: string): boolean {
    if (this.#sessions.get(sessionId)?.delete(pattern) !== true) return false
    this.#remove(sessionId, pattern)
    return true
  }

  patternsOf (sessionId: string): ReadonlySet<string> {
    return this.#sessions.get(sessionId) ?? new Set()
  }

  /** Patterns some session is subscribed to. */
  patterns (): IterableIterator<string> {
    return this.#subscribers.keys()
  }

  /** Sessions to count for `pattern`. */
  count (pattern: string): number {
    return this.#subscribers.get(pattern)?.size ?? 0
  }

  /**
   * Every session subscribed to a key of `expansion`, once however many of its keys
   * match (C60).
   */
  match (expansion: readonly string[]): Iterable<string> {
    // Most publishes match subscribers under one key only: answer with that set, and
    // pay for de-duplication only when several keys have subscribers.
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
    return seen ?? first ?? []
  }

  clear (): void {
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
