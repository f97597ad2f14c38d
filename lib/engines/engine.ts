import type { OutgoingEvent } from '../protocol/outgoing-event.ts'
import type { MaybePromise } from '../types.ts'

/** What the server gives an engine: a way to hand an event to a session of this node. */
export interface EngineHost {
  /** Queues `event` for the local session `sessionId`; unknown ids are ignored. */
  deliver (sessionId: string, event: OutgoingEvent): void
}

/**
 * Routing and session bookkeeping, behind which a single process (memory) or many
 * nodes (Redis) can sit. The protocol core calls only these methods; every engine
 * must pass the contract kit in spec/engines/contract.ts.
 */
export interface Engine {
  /** Called once before any other method. */
  start (host: EngineHost): MaybePromise<void>
  createSession (sessionId: string): MaybePromise<void>
  /** Forgets the session and every subscription it had. */
  destroySession (sessionId: string): MaybePromise<void>
  /** `pattern` is a valid channel name, possibly ending in `*` or `**`. */
  subscribe (sessionId: string, pattern: string): MaybePromise<void>
  unsubscribe (sessionId: string, pattern: string): MaybePromise<void>
  /**
   * Delivers `event` once to every session subscribed to its channel or to a
   * wildcard matching it (`expansion`, most specific first), however many of its
   * patterns match (C60).
   */
  publish (event: OutgoingEvent, expansion: readonly string[]): MaybePromise<void>
  close (): MaybePromise<void>
}
