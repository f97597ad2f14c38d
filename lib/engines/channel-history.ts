import type { OutgoingEvent } from '../protocol/outgoing-event.ts'

/**
 * One channel's history in memory (docs/replay.md): its latest events in a ring of
 * fixed capacity, oldest first, each with the time it was published; and what is
 * known of the ids before them, to tell whether a replay from an id would be whole.
 */
export class ChannelHistory {
  readonly #capacity: number
  /** The ring grows up to `capacity`: most channels never fill it. */
  #events: Array<OutgoingEvent | undefined>
  #times: number[]
  /** Index of the oldest retained event in the ring. */
  #first = 0
  #count = 0
  /** The id of the newest event dropped (for size or age); 0 when none was. */
  #dropped = 0
  /** The latest id issued on the channel. */
  #latest = 0

  constructor (capacity: number) {
    this.#capacity = capacity
    this.#events = new Array<OutgoingEvent | undefined>(Math.min(capacity, 16))
    this.#times = new Array<number>(this.#events.length).fill(0)
  }

  get size (): number {
    return this.#count
  }

  /** Keeps `event`, whose replay id is above every one before, dropping the oldest when the ring is full. */
  add (event: OutgoingEvent, now: number): void {
    if (this.#count === this.#events.length) {
      if (this.#count === this.#capacity) this.#dropOldest()
      else this.#grow()
    }
    const slot = (this.#first + this.#count) % this.#events.length
    this.#events[slot] = event
    this.#times[slot] = now
    this.#count++
    this.#latest = event.replayId!
  }

  /** Drops the events published before `oldest` (ms since the epoch). */
  expire (oldest: number): void {
    while (this.#count > 0 && this.#times[this.#first]! < oldest) this.#dropOldest()
  }

  /**
   * The retained events after replay id `after` (all of them when undefined), oldest
   * first, at most `limit`; undefined when events after `after` are no longer retained
   * or `after` was never issued. `after` itself need not be retained.
   */
  read (after: number | undefined, limit: number): OutgoingEvent[] | undefined {
    let from = 0
    if (after !== undefined) {
      if (after > this.#latest) return undefined
      from = this.#indexAfter(after)
      const previous = from === 0 ? this.#dropped : this.#at(from - 1).replayId
      // Whole only when nothing between `after` and the first event returned is missing.
      if (previous !== after && after !== this.#latest) return undefined
    }
    const out: OutgoingEvent[] = []
    for (let i = from; i < this.#count && out.length < limit; i++) out.push(this.#at(i))
    return out
  }

  /** The position (0: the oldest) of the first retained event whose id is above `id`. */
  #indexAfter (id: number): number {
    let low = 0
    let high = this.#count
    while (low < high) {
      const middle = (low + high) >>> 1
      if (this.#at(middle).replayId! <= id) low = middle + 1
      else high = middle
    }
    return low
  }

  #at (position: number): OutgoingEvent {
    return this.#events[(this.#first + position) % this.#events.length]!
  }

  #grow (): void {
    const length = Math.min(this.#capacity, this.#events.length * 2)
    const events = new Array<OutgoingEvent | undefined>(length)
    const times = new Array<number>(length).fill(0)
    for (let i = 0; i < this.#count; i++) {
      events[i] = this.#at(i)
      times[i] = this.#times[(this.#first + i) % this.#times.length]!
    }
    this.#events = events
    this.#times = times
    this.#first = 0
  }

  #dropOldest (): void {
    this.#dropped = this.#events[this.#first]!.replayId!
    this.#events[this.#first] = undefined
    this.#first = (this.#first + 1) % this.#events.length
    this.#count--
  }
}
