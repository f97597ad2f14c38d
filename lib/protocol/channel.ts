/**
 * Channel names: grammar, categories and wildcard expansion (docs/protocol.md §2).
 *
 * We accept CometD's character set (a superset of the spec's, so CometD apps with
 * `.` in their channel names work) and reject what CometD accepts but cannot handle:
 * empty segments (so `/meta/connect/` is not `/meta/connect`, the CVE-2020-11020
 * class), `*` inside a segment, and wildcards anywhere but the last segment (A20).
 */

export type ChannelKind = 'meta' | 'service' | 'broadcast'

/** 0: concrete, 1: `/a/*` (one segment), 2: `/a/**` (one or more segments). */
export type Wildness = 0 | 1 | 2

export interface ChannelLimits {
  /** Longest accepted channel name, in characters. */
  maxLength: number
  /** Most segments in a channel name. */
  maxDepth: number
}

const SEGMENT = /^[A-Za-z0-9 !#$()+\-.@_{}~]+$/

export class ParsedChannel {
  readonly name: string
  readonly kind: ChannelKind
  readonly wild: Wildness
  readonly depth: number
  #expansion: string[] | undefined

  constructor (name: string, kind: ChannelKind, wild: Wildness, depth: number) {
    this.name = name
    this.kind = kind
    this.wild = wild
    this.depth = depth
  }

  /**
   * The subscription keys that match this concrete channel, most specific first:
   * `/a/b/c` → `/a/b/c`, `/a/b/*`, `/a/b/**`, `/a/**`, `/**` (C60, C61).
   * Computed once per channel name, then cached.
   */
  get expansion (): readonly string[] {
    if (this.#expansion !== undefined) return this.#expansion
    const keys = [this.name]
    if (this.wild === 0) {
      let end = this.name.lastIndexOf('/')
      keys.push(this.name.slice(0, end) + '/*')
      for (;;) {
        keys.push(this.name.slice(0, end) + '/**')
        if (end === 0) break
        end = this.name.lastIndexOf('/', end - 1)
      }
    }
    this.#expansion = keys
    return keys
  }

  /** True when this (possibly wild) pattern matches the concrete channel `other`. */
  matches (other: ParsedChannel): boolean {
    if (this.wild === 0 || other.wild !== 0) return this.name === other.name
    return other.expansion.includes(this.name)
  }
}

/**
 * True when the pattern `pattern` (`/a/b`, `/a/*` or `/a/**`, already valid) matches
 * the concrete channel `channel`: for code that has names, not parsed channels.
 */
export function patternMatches (pattern: string, channel: string): boolean {
  if (pattern.endsWith('/**')) return channel.startsWith(pattern.slice(0, -2)) && channel.length > pattern.length - 2
  if (pattern.endsWith('/*')) {
    const base = pattern.slice(0, -1)
    return channel.startsWith(base) && channel.length > base.length && !channel.includes('/', base.length)
  }
  return pattern === channel
}

/**
 * Parses channel names, caching the result: the same few channels are published to
 * over and over, so validation and expansion are paid once per channel, not per message.
 */
export class ChannelParser {
  readonly #limits: ChannelLimits
  readonly #cache = new Map<string, ParsedChannel | null>()
  readonly #cacheSize: number

  constructor (limits: ChannelLimits, cacheSize = 10_000) {
    this.#limits = limits
    this.#cacheSize = cacheSize
  }

  /** The parsed channel, or null when `name` is not a valid channel name or pattern. */
  parse (name: string): ParsedChannel | null {
    let parsed = this.#cache.get(name)
    if (parsed !== undefined) return parsed
    parsed = this.#parse(name)
    // A flood of distinct (often invalid) names must not grow memory without bound.
    if (this.#cache.size >= this.#cacheSize) this.#cache.clear()
    this.#cache.set(name, parsed)
    return parsed
  }

  #parse (name: string): ParsedChannel | null {
    if (name.length < 2 || name.length > this.#limits.maxLength || name[0] !== '/') return null
    const segments = name.split('/')
    const depth = segments.length - 1
    if (depth > this.#limits.maxDepth) return null
    let wild: Wildness = 0
    for (let i = 1; i <= depth; i++) {
      const segment = segments[i]!
      if (segment === '*' || segment === '**') {
        if (i !== depth) return null
        wild = segment === '*' ? 1 : 2
      } else if (!SEGMENT.test(segment)) {
        return null
      }
    }
    const kind: ChannelKind = segments[1] === 'meta' ? 'meta' : segments[1] === 'service' ? 'service' : 'broadcast'
    return new ParsedChannel(name, kind, wild, depth)
  }
}
