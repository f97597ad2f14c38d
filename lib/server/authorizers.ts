import type { ParsedChannel } from '../protocol/channel.ts'
import { PatternRegistry } from './pattern-registry.ts'
import type { ServerSession } from './session.ts'

/**
 * Guards the channels matching the pattern it is registered on (docs/protocol.md §7.4).
 * Synchronous, because `canSubscribe` also runs on delivery: a subscriber to
 * `/**` receives an event on `/private/x` only if every authorizer of `/private/x`
 * lets it subscribe there. A missing method has no opinion; any `false` denies.
 */
export interface Authorizer {
  canSubscribe?(session: ServerSession, channel: string): boolean
  canPublish?(session: ServerSession, channel: string): boolean
}

export type Operation = 'canSubscribe' | 'canPublish'

/** Authorizers by pattern; `allows` applies every one that matches a channel. */
export class Authorizers {
  readonly #registry = new PatternRegistry<Authorizer>()
  readonly #failed: (error: unknown) => void

  /** `failed` hears of an authorizer that threw; it counts as a denial (fail closed). */
  constructor (failed: (error: unknown) => void) {
    this.#failed = failed
  }

  get size (): number {
    return this.#registry.size
  }

  add (pattern: string, authorizer: Authorizer): () => void {
    return this.#registry.add(pattern, authorizer)
  }

  /** True unless an authorizer of `channel` (or of a wildcard matching it) says no. */
  allows (operation: Operation, session: ServerSession, channel: ParsedChannel): boolean {
    if (this.#registry.size === 0) return true
    for (const authorizer of this.#registry.for(channel)) {
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
}
