import { randomInt } from 'node:crypto'

/**
 * Bounds, in ms, of the pause a draining server advises before the next handshake or
 * connect. Each client draws its own, so that clients sent away at the same moment do not
 * all come back (to the next node, or to this one restarted) at the same moment.
 */
export const DRAIN_INTERVAL = { min: 500, max: 3_000 } as const

/** A pause drawn at random within DRAIN_INTERVAL, bounds included. */
export function drainInterval (): number {
  return randomInt(DRAIN_INTERVAL.min, DRAIN_INTERVAL.max + 1)
}

/** How a drain ended (BayeuxServer.drain). */
export interface DrainResult {
  /**
   * True when the drain finished before its timeout: every queued event was delivered,
   * every payload in progress answered and every WebSocket closed.
   */
  readonly complete: boolean
  /** Events still queued when the drain ended, and how many sessions they were for. */
  readonly undelivered: { readonly events: number, readonly sessions: number }
}
