import { hasMember, sizeOf, withMember, withoutMember } from '../engines/members.ts'
import type { Members } from '../engines/members.ts'

/** What a session with no subscription iterates over; never changed. */
const NONE: ReadonlySet<string> = new Set()

/**
 * The channels and patterns a session is subscribed to (ServerSession.subscriptions):
 * a Set to whoever reads it, but one subscription, what most sessions have, is kept as
 * the string itself.
 */
export class SubscriptionSet implements ReadonlySet<string> {
  // No private method: it would cost every instance a slot.
  #members: Members | undefined

  get size (): number {
    return sizeOf(this.#members)
  }

  has (pattern: string): boolean {
    return hasMember(this.#members, pattern)
  }

  add (pattern: string): this {
    if (!this.has(pattern)) this.#members = withMember(this.#members, pattern)
    return this
  }

  /** False when `pattern` was not there. */
  delete (pattern: string): boolean {
    if (this.#members === undefined || !this.has(pattern)) return false
    this.#members = withoutMember(this.#members, pattern)
    return true
  }

  forEach (callback: (value: string, key: string, set: ReadonlySet<string>) => void, thisArg?: unknown): void {
    for (const pattern of asSet(this.#members)) callback.call(thisArg, pattern, pattern, this)
  }

  values (): SetIterator<string> {
    return asSet(this.#members).values()
  }

  keys (): SetIterator<string> {
    return this.values()
  }

  entries (): SetIterator<[string, string]> {
    return asSet(this.#members).entries()
  }

  [Symbol.iterator] (): SetIterator<string> {
    return this.values()
  }
}

/** Iterating over a lone subscription, which is rare, pays for a Set. */
function asSet (members: Members | undefined): ReadonlySet<string> {
  return typeof members === 'string' ? new Set([members]) : members ?? NONE
}
