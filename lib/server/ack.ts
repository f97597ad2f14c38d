import type { OutgoingEvent } from '../protocol/outgoing-event.ts'

export interface AckState {
  readonly events: readonly OutgoingEvent[]
  readonly batches: readonly number[]
  readonly nextBatch: number
}

/**
 * Server side of the acknowledge extension (docs/protocol.md §6.2, C95–C97): events sent
 * with a connect reply stay here, stamped with that reply's batch number, until the
 * client's next connect acknowledges the batch; the ones it never got are re-sent
 * first, in order.
 */
export class AckLedger {
  #nextBatch = 1
  #unacked: OutgoingEvent[] = []
  #batchOf: number[] = []

  /** A ledger carried over from another node. */
  static from (state: AckState): AckLedger {
    const ledger = new AckLedger()
    ledger.#unacked = [...state.events]
    ledger.#batchOf = [...state.batches]
    ledger.#nextBatch = state.nextBatch
    return ledger
  }

  /** What another node needs to carry on where this one stops. */
  get state (): AckState {
    return { events: this.#unacked.slice(), batches: this.#batchOf.slice(), nextBatch: this.#nextBatch }
  }

  /** Events sent but not yet acknowledged. */
  get pending (): number {
    return this.#unacked.length
  }

  /** The client has processed every batch up to and including `batch`; false when that changes nothing. */
  acknowledge (batch: number): boolean {
    let done = 0
    while (done < this.#batchOf.length && this.#batchOf[done]! <= batch) done++
    if (done === 0) return false
    this.#unacked.splice(0, done)
    this.#batchOf.splice(0, done)
    return true
  }

  /**
   * Stamps `fresh` with the next batch number and returns what the connect reply
   * carries: every unacknowledged event, oldest first, then the fresh ones.
   */
  send (fresh: readonly OutgoingEvent[]): { events: OutgoingEvent[], batch: number } {
    const batch = this.#nextBatch++
    for (const event of fresh) {
      this.#unacked.push(event)
      this.#batchOf.push(batch)
    }
    return { events: this.#unacked.slice(), batch }
  }

  /** Drops the oldest unacknowledged event (queue overflow). */
  dropOldest (): boolean {
    this.#batchOf.shift()
    return this.#unacked.shift() !== undefined
  }
}
