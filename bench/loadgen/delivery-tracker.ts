import { monotonicMicros } from './clock.ts'
import { Histogram } from './histogram.ts'
import type { Payload } from './payload.ts'

/** What one receiving process observed since the last reset. */
export interface DeliveryCounts {
  unique: number
  duplicates: number
  outOfOrder: number
  gaps: number
}

interface Stream {
  last: number
  missing: Set<number> | undefined
}

/**
 * Checks every delivery against the sequence of its (subscriber, channel, publisher) stream and
 * records its end-to-end latency. A gap is remembered so that a late arrival is classified as
 * out-of-order rather than as a duplicate; what is never filled in shows up as loss when the
 * controller compares unique deliveries with what it expected.
 */
export class DeliveryTracker {
  readonly latency = new Histogram()
  #counts: DeliveryCounts = { unique: 0, duplicates: 0, outOfOrder: 0, gaps: 0 }

  get counts (): DeliveryCounts {
    return { ...this.#counts }
  }

  /** One subscriber's stream table; streams are keyed by channel and publisher. */
  newSubscriber (): Map<string, Stream> {
    return new Map()
  }

  record (streams: Map<string, Stream>, channel: string, payload: Payload): void {
    this.latency.record(monotonicMicros() - payload.t)
    const key = `${channel}|${payload.p}`
    let stream = streams.get(key)
    if (stream === undefined) {
      stream = { last: -1, missing: undefined }
      streams.set(key, stream)
    }
    if (payload.s > stream.last) {
      this.#noteGap(stream, stream.last + 1, payload.s)
      stream.last = payload.s
      this.#counts.unique++
    } else if (stream.missing?.delete(payload.s)) {
      this.#counts.outOfOrder++
      this.#counts.gaps--
      this.#counts.unique++
    } else {
      this.#counts.duplicates++
    }
  }

  reset (): void {
    this.latency.reset()
    this.#counts = { unique: 0, duplicates: 0, outOfOrder: 0, gaps: 0 }
  }

  #noteGap (stream: Stream, from: number, to: number): void {
    if (from >= to) return
    stream.missing ??= new Set()
    for (let sequence = from; sequence < to; sequence++) stream.missing.add(sequence)
    this.#counts.gaps += to - from
  }
}
