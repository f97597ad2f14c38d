/** Positions of the ring: a deadline further out waits in its position for later turns. */
const RING = 256

/** `WheelTimer.slot` of a timer that is not scheduled. */
const IDLE = -1
/** `WheelTimer.slot` of a timer taken out of the ring by a tick, about to fire. */
const DUE = -2

/**
 * One item's deadline in a TimerWheel, made once for the item and kept: scheduling,
 * moving and cancelling it relinks it, with no hashing and no allocation.
 */
export class WheelTimer<T> {
  readonly item: T
  /** The wheel's own: the slot it fires in, counted from the wheel's creation, or IDLE or DUE. */
  slot = IDLE
  /** The wheel's own: its neighbours in its ring position's list. */
  prev: WheelTimer<T> | undefined = undefined
  next: WheelTimer<T> | undefined = undefined

  constructor (item: T) {
    this.item = item
  }
}

/**
 * Deadlines rounded up to a fixed resolution and served by one interval timer.
 * Thousands of held connects or session expiries then cost one timer, O(1) to
 * schedule, move or cancel, and no work at all while nothing is scheduled.
 * An item never fires early; it fires at most one `resolution` late. Time is the
 * monotonic clock's: a wall clock stepped forward or back (NTP, a resumed VM) moves no deadline.
 */
export class TimerWheel<T> {
  readonly #resolution: number
  /** Slots are counted from the wheel's creation: small integers, which V8 stores as they are. */
  readonly #origin: number
  readonly #onExpire: (item: T) => void
  /** The first timer of each ring position (slot mod RING), linked through `next`. */
  readonly #heads: Array<WheelTimer<T> | undefined> = new Array(RING).fill(undefined)
  /** What the running tick took out of the ring to fire. */
  readonly #due: Array<WheelTimer<T>> = []
  #size = 0
  #timer: NodeJS.Timeout | undefined
  /** The first slot the next tick visits. */
  #nextSlot = 0

  constructor (resolution: number, onExpire: (item: T) => void) {
    this.#resolution = resolution
    this.#origin = Math.floor(performance.now() / resolution)
    this.#onExpire = onExpire
  }

  get size (): number {
    return this.#size
  }

  /** (Re)schedules `timer` to expire `delay` ms from now. */
  schedule (timer: WheelTimer<T>, delay: number): void {
    // One reading of the clock: a second one, for the first tick, could fall in a later
    // slot than this timer's (a pause in between), and the ticks would never visit it.
    const now = performance.now()
    let slot = this.#deadlineSlot(now + delay)
    // Never into a slot the ticks have passed: it would wait a whole turn of the ring.
    if (this.#timer !== undefined) slot = Math.max(slot, this.#nextSlot)
    // A session's expiry moves with every exchange, mostly to where it is already.
    if (timer.slot === slot) return
    if (timer.slot >= 0) this.#unlink(timer)
    else if (timer.slot === IDLE) this.#size++
    timer.slot = slot
    this.#link(timer)
    if (this.#timer === undefined) {
      this.#nextSlot = this.#slotAt(now)
      this.#timer = setInterval(() => this.#tick(), this.#resolution).unref()
    }
  }

  /** Schedules `timer` to expire `delay` ms from now, unless it is due then or later already. */
  extend (timer: WheelTimer<T>, delay: number): void {
    if (timer.slot < this.#deadlineSlot(performance.now() + delay)) this.schedule(timer, delay)
  }

  cancel (timer: WheelTimer<T>): void {
    if (timer.slot === IDLE) return
    if (timer.slot >= 0) this.#unlink(timer)
    timer.slot = IDLE
    this.#size--
  }

  /** Stops the timer; scheduled items are forgotten without firing, their timers left reusable. */
  clear (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    for (let position = 0; position < RING; position++) {
      for (let timer = this.#heads[position]; timer !== undefined;) {
        const next = timer.next
        timer.slot = IDLE
        timer.prev = timer.next = undefined
        timer = next
      }
      this.#heads[position] = undefined
    }
    // Called from a callback, none of the tick's other due timers fires either.
    for (const timer of this.#due) timer.slot = IDLE
    this.#size = 0
  }

  #link (timer: WheelTimer<T>): void {
    const position = timer.slot % RING
    const head = this.#heads[position]
    timer.prev = undefined
    timer.next = head
    if (head !== undefined) head.prev = timer
    this.#heads[position] = timer
  }

  #unlink (timer: WheelTimer<T>): void {
    const { prev, next } = timer
    if (prev === undefined) this.#heads[timer.slot % RING] = next
    else prev.next = next
    if (next !== undefined) next.prev = prev
    timer.prev = timer.next = undefined
  }

  /**
   * The slot that monotonic time `time` falls in. Never below 0, even for a time before
   * the wheel was made (a negative delay is due now): a slot picks the ring position,
   * and below 0 it would collide with IDLE and DUE.
   */
  #slotAt (time: number): number {
    return Math.max(0, Math.floor(time / this.#resolution) - this.#origin)
  }

  /** The first slot at or after `time`: a deadline is rounded up, never fired early. */
  #deadlineSlot (time: number): number {
    return Math.max(0, Math.ceil(time / this.#resolution) - this.#origin)
  }

  #tick (): void {
    const now = this.#slotAt(performance.now())
    // Everything due is taken out before anything fires: a callback may cancel or move
    // any timer, one due in this tick included (it then does not fire).
    const due = this.#due
    // Past a whole turn (a long pause), each position is visited once, which finds all that is due.
    const last = Math.min(now, this.#nextSlot + RING - 1)
    for (let slot = this.#nextSlot; slot <= last; slot++) {
      for (let timer = this.#heads[slot % RING]; timer !== undefined;) {
        const next = timer.next
        if (timer.slot <= now) {
          this.#unlink(timer)
          timer.slot = DUE
          due.push(timer)
        }
        timer = next
      }
    }
    this.#nextSlot = Math.max(this.#nextSlot, now + 1)
    for (const timer of due) {
      if (timer.slot !== DUE) continue
      timer.slot = IDLE
      this.#size--
      this.#onExpire(timer.item)
    }
    due.length = 0
    if (this.#size === 0) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }
}
