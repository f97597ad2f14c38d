import type { OutgoingEvent } from '../protocol/outgoing-event.ts'

export interface QueueLimits {
  /** Most events a session may have waiting. */
  maxQueue: number
  /** Most bytes (serialized) a session may have waiting. */
  maxQueueBytes: number
}

/**
 * A session's FIFO of events not yet written (C70, C78), bounded in count and bytes
 * so that a client that stops reading cannot grow server memory without bound.
 */
export class SessionQueue {
  /** Made on first use: an idle session's queue holds nothing. */
  #events: OutgoingEvent[] | undefined
  #bytes = 0

  get length (): number {
    return this.#events?.length ?? 0
  }

  get bytes (): number {
    return this.#bytes
  }

  push (event: OutgoingEvent): void {
    (this.#events ??= []).push(event)
    this.#bytes += event.size
  }

  /** Removes the oldest event (drop-oldest overflow), returning it. */
  shift (): OutgoingEvent | undefined {
    const event = this.#events?.shift()
    if (event !== undefined) this.#bytes -= event.size
    return event
  }

  /** Takes every queued event, oldest first. */
  drain (): OutgoingEvent[] {
    const events = this.#events ?? []
    this.#events = undefined
    this.#bytes = 0
    return events
  }

  /** Would the queue exceed `limits` with `extraCount` more events of `extraBytes`? */
  isOver (limits: QueueLimits, extraCount = 0, extraBytes = 0): boolean {
    return this.length + extraCount > limits.maxQueue || this.#bytes + extraBytes > limits.maxQueueBytes
  }
}
