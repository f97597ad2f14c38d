import type { ParsedChannel } from '../protocol/channel.ts'

/**
 * Items registered on channel patterns (`/a/b`, `/a/*`, `/a/**`), looked up by
 * concrete channel. The list that applies to a channel is computed once and cached
 * until the registry changes, so a publish pays one map lookup, not a walk of its
 * wildcard expansion.
 */
export class PatternRegistry<T> {
  readonly #byPattern = new Map<string, Set<T>>()
  readonly #applicable = new Map<string, T[]>()
  readonly #cacheSize: number

  constructor (cacheSize = 10_000) {
    this.#cacheSize = cacheSize
  }

  /** Number of patterns with at least one item. */
  get size (): number {
    return this.#byPattern.size
  }

  /** Registers `item` on `pattern`; returns a function that removes it. */
  add (pattern: string, item: T): () => void {
    let set = this.#byPattern.get(pattern)
    if (set === undefined) this.#byPattern.set(pattern, set = new Set())
    set.add(item)
    this.#applicable.clear()
    return () => {
      set.delete(item)
      if (set.size === 0 && this.#byPattern.get(pattern) === set) this.#byPattern.delete(pattern)
      this.#applicable.clear()
    }
  }

  /** The items of `channel` and of every wildcard matching it, most specific first. */
  for (channel: ParsedChannel): readonly T[] {
    let list = this.#applicable.get(channel.name)
    if (list !== undefined) return list
    list = []
    for (const key of channel.expansion) {
      const set = this.#byPattern.get(key)
      if (set !== undefined) list.push(...set)
    }
    // A flood of distinct channel names must not grow memory: forgetting only costs a recompute.
    if (this.#applicable.size >= this.#cacheSize) this.#applicable.clear()
    this.#applicable.set(channel.name, list)
    return list
  }
}
