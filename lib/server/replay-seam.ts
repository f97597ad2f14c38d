import type { SeamState } from '../engines/engine.ts'
import type { OutgoingEvent } from '../protocol/outgoing-event.ts'

/**
 * The seam between a session's replayed history and its live events (docs/replay.md).
 * While a replay is read, live events wait here; once it is queued, they follow it,
 * less those it already held: each channel's replay ids are remembered for that, also
 * for live events that reach this node late (through Redis) after the replay. When the
 * session moves to another node, its seam goes with it (`state`, `from`).
 */
export class ReplaySeam {
  #holds = 0
  #held: OutgoingEvent[] = []
  /** channel → the highest replay id replayed to the session. */
  readonly #replayed = new Map<string, number>()

  /** The seam of a session that moved here: live events wait for the replays still read where it was. */
  static from (state: SeamState): ReplaySeam {
    const seam = new ReplaySeam()
    seam.#holds = state.replays
    seam.#held = [...state.held]
    for (const [channel, id] of Object.entries(state.replayed)) seam.#replayed.set(channel, id)
    return seam
  }

  /** What another node needs to go on where this one stops. */
  get state (): SeamState {
    return { replays: this.#holds, held: this.#held, replayed: Object.fromEntries(this.#replayed) }
  }

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
   * those replayed; none while another replay is still being read. A replay that
   * ends after its hold was lost (the session moved without its state) holds nothing.
   */
  release (keep?: (event: OutgoingEvent) => boolean): OutgoingEvent[] {
    if (keep !== undefined) this.#held = this.#held.filter(keep)
    if (this.#holds > 0 && --this.#holds > 0) return []
    const held = this.#held
    this.#held = []
    return held.filter(event => !this.#seen(event))
  }

  #seen (event: OutgoingEvent): boolean {
    return event.replayId !== undefined && event.replayId <= (this.#replayed.get(event.channel) ?? 0)
  }
}
