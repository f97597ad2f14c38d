// Log-linear latency histogram in microseconds: exact below 64 µs, then 32 linear
// sub-buckets per power of two (at most ~3% error). Small, mergeable across processes.

const EXACT_LIMIT = 64
const SUB_BUCKETS = 32
const MAX_SHIFT = 26 // values are clamped below 2^31 µs (about 35 minutes)
const BUCKET_COUNT = EXACT_LIMIT + MAX_SHIFT * SUB_BUCKETS

function bucketOf (micros: number): number {
  const value = Math.min(Math.max(0, Math.floor(micros)), 2 ** 31 - 1)
  if (value < EXACT_LIMIT) return value
  const shift = 31 - Math.clz32(value) - 5
  return EXACT_LIMIT + (shift - 1) * SUB_BUCKETS + ((value >>> shift) - SUB_BUCKETS)
}

function lowerBoundOf (bucket: number): number {
  if (bucket < EXACT_LIMIT) return bucket
  const shift = Math.floor((bucket - EXACT_LIMIT) / SUB_BUCKETS) + 1
  const sub = ((bucket - EXACT_LIMIT) % SUB_BUCKETS) + SUB_BUCKETS
  return sub * 2 ** shift
}

/** Sparse form sent over IPC: [bucket, count] pairs plus the exact maximum. */
export interface HistogramSnapshot {
  buckets: Array<[number, number]>
  max: number
}

export class Histogram {
  #counts = new Float64Array(BUCKET_COUNT)
  #total = 0
  #max = 0

  record (micros: number): void {
    this.#counts[bucketOf(micros)]!++
    this.#total++
    if (micros > this.#max) this.#max = micros
  }

  get total (): number {
    return this.#total
  }

  get max (): number {
    return this.#max
  }

  /** Value (µs) at or below which `fraction` of the recordings fall. */
  percentile (fraction: number): number {
    if (this.#total === 0) return 0
    const rank = Math.ceil(fraction * this.#total)
    let seen = 0
    for (let bucket = 0; bucket < BUCKET_COUNT; bucket++) {
      seen += this.#counts[bucket]!
      if (seen >= rank) return Math.min(lowerBoundOf(bucket + 1), this.#max)
    }
    return this.#max
  }

  snapshot (): HistogramSnapshot {
    const buckets: Array<[number, number]> = []
    this.#counts.forEach((count, bucket) => {
      if (count > 0) buckets.push([bucket, count])
    })
    return { buckets, max: this.#max }
  }

  merge (snapshot: HistogramSnapshot): void {
    for (const [bucket, count] of snapshot.buckets) {
      this.#counts[bucket]! += count
      this.#total += count
    }
    if (snapshot.max > this.#max) this.#max = snapshot.max
  }

  reset (): void {
    this.#counts.fill(0)
    this.#total = 0
    this.#max = 0
  }
}
