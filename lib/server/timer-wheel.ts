/**
 * Deadlines rounded up to a fixed resolution and served by one interval timer.
 * Thousands of held connects or session expiries then cost one timer, O(1) to
 * schedule, move or cancel, and no work at all while nothing is scheduled.
 * An item never fires early; it fires at most one `resolution` late.
 */
export class TimerWheel<T> {
  readonly #resolution: number
  /**
   * Slots are counted from the wheel's creation: small integers, which V8 stores as they
   * are, where a slot of the epoch (beyond 2^31) would cost every scheduled item a heap number.
   */
  readonly #origin: number
  readonly #onExpire: (item: T) => void
  readonly #buckets = new Map<number, Set<T>>()
  readonly #slotOf = new Map<T, number>()
  #timer: NodeJS.Timeout | undefined
  #nextSlot = 0
  #ticking = false

  constructor (resolution: number, onExpire: (item: T) => void) {
    this.#resolution = resolution
    this.#origin = Math.floor(Date.now() / resolution)
    this.#onExpire = onExpire
  }

  get size (): number {
    return this.#slotOf.size
  }

  /** (Re)schedules `item` to expire `delay` ms from now. */
  schedule (item: T, delay: number): void {
    // One reading of the clock: a second one, for the first tick, could fall in a later
    // slot than this item's (a pause in between), and the ticks would never visit it.
    const now = Date.now()
    let slot = Math.ceil((now + delay) / this.#resolution) - this.#origin
    // Never into a slot the tick has already passed (or is passing): it would be skipped.
    if (this.#timer !== undefined) slot = Math.max(slot, this.#nextSlot + (this.#ticking ? 1 : 0))
    // A session's expiry moves with every exchange, mostly to where it is already (the
    // slots are coarse): left there, it costs no Map and Set churn.
    const current = this.#slotOf.get(item)
    if (current === slot) return
    if (current !== undefined) this.#remove(item, current)
    let bucket = this.#buckets.get(slot)
    if (bucket === undefined) this.#buckets.set(slot, bucket = new Set())
    bucket.add(item)
    this.#slotOf.set(item, slot)
    if (this.#timer === undefined) {
      this.#nextSlot = Math.floor(now / this.#resolution) - this.#origin
      this.#timer = setInterval(() => this.#tick(), this.#resolution).unref()
    }
  }

  /** Schedules `item` to expire `delay` ms from now, unless it is due then or later already. */
  extend (item: T, delay: number): void {
    const slot = this.#slotOf.get(item)
    if (slot === undefined || slot < Math.ceil((Date.now() + delay) / this.#resolution) - this.#origin) this.schedule(item, delay)
  }

  cancel (item: T): void {
    const slot = this.#slotOf.get(item)
    if (slot !== undefined) this.#remove(item, slot)
  }

  #remove (item: T, slot: number): void {
    this.#slotOf.delete(item)
    const bucket = this.#buckets.get(slot)!
    bucket.delete(item)
    if (bucket.size === 0) this.#buckets.delete(slot)
  }

  /** Stops the timer; scheduled items are forgotten without firing. */
  clear (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#buckets.clear()
    this.#slotOf.clear()
  }

  #tick (): void {
    const now = Math.floor(Date.now() / this.#resolution) - this.#origin
    this.#ticking = true
    for (; this.#nextSlot <= now; this.#nextSlot++) {
      const bucket = this.#buckets.get(this.#nextSlot)
      if (bucket === undefined) continue
      // The bucket stays in the map while it fires, so that a callback can cancel an
      // item of it; an item cancelled or cleared by an earlier callback is skipped.
      for (const item of bucket) {
        if (!this.#slotOf.delete(item)) continue
        this.#onExpire(item)
      }
      this.#buckets.delete(this.#nextSlot)
    }
    this.#ticking = false
    if (this.#slotOf.size === 0) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }
}
