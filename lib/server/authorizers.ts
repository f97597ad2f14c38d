import type { ChannelName } from '../protocol/channel.ts'
import type { ServerSession } from './session.ts'

/**
 * Guards the channels matching the pattern it is registered on (BAYEUX.md §7.4).
 * Synchronous, because `canSubscribe` also runs on delivery: a subscriber to
 * `/**` receives an event on `/private/x` only if every authorizer of `/private/x`
 * lets it subscribe there. A missing method has no opinion; any `false` denies.
 */
export interface Authorizer {
  canSubscribe?(session: ServerSession, channel: string): boolean
  canPublish?(session: ServerSession, channel: string): boolean
}

export type Operation = 'canSubscribe' | 'canPublish'

/** Authorizers by pattern, with the list that applies to each channel cached. */
export class Authorizers {
  readonly #byPattern = new Map<string, Set<Authorizer>>()
  readonly #applicable = new Map<string, Authorizer[]>()
  readonly #cacheSize: number
  readonly #failed: (error: unknown) => void

  /** `failed` hears of an authorizer that threw; it counts as a denial (fail closed). */
  constructor (failed: (error: unknown) => void, cacheSize = 10_000) {
    this.#failed = failed
    this.#cacheSize = cacheSize
  }

  get size (): number {
    return this.#byPattern.size
  }

  add (pattern: string, authorizer: Authorizer): () => void {
    let set = this.#byPattern.get(pattern)
    if (set === undefined) this.#byPattern.set(pattern, set = new Set())
    set.add(authorizer)
    this.#applicable.clear()
    return () => {
      set.delete(authorizer)
      if (set.size === 0) this.#byPattern.delete(pattern)
      this.#applicable.clear()
    }
  }

  /** True unless an authorizer of `channel` (or of a wildcard matching it) says no. */
  allows (operation: Operation, session: ServerSession, channel: ChannelName): boolean {
    if (this.#byPattern.size === 0) return true
    for (const authorizer of this.#for(channel)) {
      const decide = authorizer[operation]
      if (decide === undefined) continue
      try {
        if (!decide.call(authorizer, session, channel.name)) return false
      } catch (error) {
        this.#failed(error)
        return false
      }
    }
    return true
  }

  /** Whether any authorizer applies to `channel` at all (so deliveries need checking). */
  guards (channel: ChannelName): boolean {
    return this.#byPattern.size > 0 && this.#for(channel).length > 0
  }

  #for (channel: ChannelName): Authorizer[] {
    let list = this.#applicable.get(channel.name)
    if (list !== undefined) return list
    list = []
    for (const key of channel.expansion) {
      const set = this.#byPattern.get(key)
      if (set !== undefined) list.push(...set)
    }
    if (this.#applicable.size >= this.#cacheSize) this.#applicable.clear()
    this.#applicable.set(channel.name, list)
    return list
  }
}
