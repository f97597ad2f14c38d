/**
 * A token bucket: `rate` operations per second on average, bursts up to `burst`.
 * Refilled lazily on use, so an idle session costs nothing.
 */
export class TokenBucket {
  readonly #rate: number
  readonly #burst: number
  #tokens: number
  #updated = performance.now()

  constructor (rate: number, burst: number) {
    this.#rate = rate
    this.#burst = burst
    this.#tokens = burst
  }

  /** Takes one token; false when the bucket is empty. */
  take (): boolean {
    const now = performance.now()
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#updated) * this.#rate / 1000)
    this.#updated = now
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }
}
