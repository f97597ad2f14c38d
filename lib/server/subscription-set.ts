import { hasMember, sizeOf, withMember, withoutMember } from '../engines/members.ts'
import type { Members } from '../engines/members.ts'

/** What a session with no subscription iterates over; never changed. */
const NONE: ReadonlySet<string> = new Set()

/** Where a SubscriptionSet keeps its members: a session keeps them itself, and makes the set only when read. */
export interface SubscriptionHolder {
  subscribed: Members | undefined
}

/**
 * The channels and patterns a session is subscribed to (ServerSession.subscriptions):
 * a Set to whoever reads it, but one subscription, what most sessions have, is kept as
 * the string itself.
 */
export class SubscriptionSet implements ReadonlySet<string> {
  readonly #holder: SubscriptionHolder

  constructor (holder: SubscriptionHolder = { subscribed: undefined }) {
    this.#holder = holder
  }

  get size (): number {
    return sizeOf(this.#holder.subscribed)
  }

  has (pattern: string): boolean {
    return hasMember(this.#holder.subscribed, pattern)
  }

  add (pattern: string): this {
    if (!this.has(pattern)) this.#holder.subscribed = withMember(this.#holder.subscribed, pattern)
    return this
  }

  /** False when `pattern` was not there. */
  delete (pattern: string): boolean {
    if (this.#holder.subscribed === undefined || !this.has(pattern)) return false
    this.#holder.subscribed = withoutMember(this.#holder.subscribed, pattern)
    return true
  }

  forEach (callback: (value: string, key: string, set: ReadonlySet<string>) => void, thisArg?: unknown): void {
    for (const pattern of asSet(this.#holder.subscribed)) callback.call(thisArg, pattern, pattern, this)
  }

  values (): SetIterator<string> {
    return asSet(this.#holder.subscribed).values()
  }

  keys (): SetIterator<string> {
    return this.values()
  }

  entries (): SetIterator<[string, string]> {
    return asSet(this.#holder.subscribed).entries()
  }

  [Symbol.iterator] (): SetIterator<string> {
    return this.values()
  }
}

/** Iterating over a lone subscription, which is rare, pays for a Set. */
function asSet (members: Members | undefined): ReadonlySet<string> {
  return typeof members === 'string' ? new Set([members]) : members ?? NONE
}
