import type { OutgoingEvent } from '../protocol/outgoing-event.ts'

/**
 * The seam between a session's replayed history and its live events (docs/replay.md).
 * While a replay is read, live events wait here; once it is queued, they follow it,
 * less those it already held: each channel's replay ids are remembered for that, also
 * for live events that reach this node late (through Redis) after the replay.
 */
export class ReplaySeam {
  #holds = 0
  #held: OutgoingEvent[] = []
  /** channel → the highest replay id replayed to the session. */
  readonly #replayed = new Map<string, number>()

  /** A replay starts: live events wait until it ends. */
  hold (): void {
    this.#holds++
  }

  /** May a live event be queued now? If not, it waits or is dropped. */
  admits (event: OutgoingEvent): boolean {
    if (this.#holds > 0) {
      this.#held.push(event)
      return false
    }
    return !this.#seen(event)
  }

  /** `event` is replayed to the session. */
  replayed (event: OutgoingEvent): void {
    const id = event.replayId
    if (id !== undefined && id > (this.#replayed.get(event.channel) ?? 0)) this.#replayed.set(event.channel, id)
  }

  /**
   * A replay ends: the live events that waited and are still wanted (`keep`), less
   * those replayed; none while another replay is still being read.
   */
  release (keep?: (event: OutgoingEvent) => boolean): OutgoingEvent[] {
    if (keep !== undefined) this.#held = this.#held.filter(keep)
    if (--this.#holds > 0) return []
    const held = this.#held
    this.#held = []
    return held.filter(event => !this.#seen(event))
  }

  #seen (event: OutgoingEvent): boolean {
    return event.replayId !== undefined && event.replayId <= (this.#replayed.get(event.channel) ?? 0)
  }
}
