import type { HistoricEvent } from '../protocol/historic-event.ts'
import type { OutgoingEvent } from '../protocol/outgoing-event.ts'
import type { MaybePromise } from '../types.ts'

/** What every node knows of a session, whichever node holds it. Set at the handshake. */
export interface SessionRecord {
  /** HTTP sessions: the browser cookie the session was created with (C100). */
  readonly browserId?: string | undefined
  readonly remoteAddress?: string | undefined
  /** The client asked for the acknowledge extension. */
  readonly ack: boolean
  readonly userId?: string | undefined
  /** ms since the epoch. */
  readonly tokenExpiresAt?: number | undefined
  /** The attributes the session had when its handshake completed; JSON values only. */
  readonly attributes?: Readonly<Record<string, unknown>> | undefined
}

/** A session another node holds, as a node that serves one of its requests sees it. */
export interface RemoteSession {
  readonly record: SessionRecord
  readonly subscriptions: readonly string[]
  /** A WebSocket is open to it on some node. */
  readonly socketOpen: boolean
}

/** What a session carries from one node to the next: the state that is not in its record. */
export interface SessionState {
  /** Events queued and not yet written, oldest first. */
  readonly queued: readonly OutgoingEvent[]
  /** Acknowledge extension: events sent but not acknowledged, with their batch numbers. */
  readonly unacked?: { readonly events: readonly OutgoingEvent[], readonly batches: readonly number[], readonly nextBatch: number } | undefined
  /** The session has had its first connect (later ones may be held). */
  readonly connected: boolean
  /** The interval the client asked for; undefined: the server's. */
  readonly interval?: number | undefined
  readonly transport: string | undefined
  readonly attributes: Readonly<Record<string, unknown>>
  /** Replays of history still being read where the session was (docs/replay.md, the seam). */
  readonly seam?: SeamState | undefined
}

/** A session's seam between replayed and live events, as it moves between nodes (docs/replay.md). */
export interface SeamState {
  /** Replays still being read for the session: live events wait until each has arrived. */
  readonly replays: number
  /** The live events waiting for them, oldest first. */
  readonly held: readonly OutgoingEvent[]
  /** Channel → the highest replay id replayed to the session: later live events up to it are dropped. */
  readonly replayed: Readonly<Record<string, number>>
}

/** A session taken over from another node (or from none, when that node died). */
export interface ClaimedSession extends RemoteSession {
  /** What the previous node handed over; undefined when it is gone. */
  readonly state: SessionState | undefined
}

/** How much history an engine keeps of each channel that has one (docs/replay.md). */
export interface HistoryLimits {
  /** Most events kept per channel. */
  readonly size: number
  /** ms an event is kept. */
  readonly ttl: number
}

/** What the server gives an engine: the sessions of this node. */
export interface EngineHost {
  /** The server's options an engine sizes its timers by. */
  readonly maxInterval: number
  readonly timeout: number
  /** Undefined when the server keeps no channel history. */
  readonly history: HistoryLimits | undefined
  /** Queues `event` for the local session `sessionId`; unknown ids are ignored. */
  deliver (sessionId: string, event: OutgoingEvent): void
  /**
   * Another node took the session over: forget it here, without ending it or telling
   * anyone, and return its state; undefined when this node does not hold it.
   */
  release (sessionId: string): SessionState | undefined
  /** A request of a local session was served on another node: its client is alive (C77). */
  touch (sessionId: string): void
  /** A replay read on another node for a local session that moved here meanwhile (Engine.replayed). */
  replayed (sessionId: string, events: readonly OutgoingEvent[], abandoned: boolean): void
  /** A local session's subscriptions changed through another node. */
  subscribed (sessionId: string, pattern: string): void
  unsubscribed (sessionId: string, pattern: string): void
  /** Another node asks to end a local session (its client disconnected there, or the server ended it). */
  endSession (sessionId: string, reason: 'client' | 'server'): void
  /**
   * A session of a dead node ended here: it expired unclaimed in this node's sweep, or
   * its client disconnected through this node. The engine already forgot it; fire its
   * events here. One node in the cluster is told, once.
   */
  orphanEnded (sessionId: string, session: RemoteSession, reason: 'expired' | 'client' | 'server'): void
  /** What the engine depends on (Redis) went away or came back; called once per change. */
  statusChanged (available: boolean, error?: Error): void
  /**
   * Sessions ended here whose removal has not reached the broker (Redis away, or a
   * command timed out) are kept for a retry (`true`), or none is left (`false`);
   * called once per change, never per session.
   */
  destroysPending (pending: boolean): void
  /** Something went wrong that the engine recovered from; logged at warn. */
  warn (message: string, error: unknown): void
}

/**
 * Routing and session bookkeeping, behind which a single process (memory) or many
 * nodes (Redis) can sit. The protocol core calls only these methods; every engine
 * must pass the contract kit in spec/engines/contract.ts.
 */
export interface Engine {
  /** Called once before any other method. */
  start (host: EngineHost): MaybePromise<void>
  /** A handshake created the session on this node. */
  createSession (sessionId: string, record: SessionRecord): MaybePromise<void>
  /** Forgets a session this node holds, and every subscription it had. */
  destroySession (sessionId: string): MaybePromise<void>
  /**
   * `pattern` is a valid channel name, possibly ending in `*` or `**`. Events published
   * after the returned promise settles reach the session, whichever node holds it.
   */
  subscribe (sessionId: string, pattern: string): MaybePromise<void>
  unsubscribe (sessionId: string, pattern: string): MaybePromise<void>
  /**
   * Delivers `event` once to every session subscribed to its channel or to a
   * wildcard matching it (`expansion`, most specific first), however many of its
   * patterns match (C60), on every node. A HistoricEvent is first given its channel's
   * next replay id and kept in the channel's history, in one step with its delivery:
   * every node sees the same id, and the history holds the event as delivered.
   * `publisher`: the id of the session that published it, if any; an engine may order
   * events per publisher only (the Redis engine on a cluster, docs/cluster.md).
   */
  publish (event: OutgoingEvent | HistoricEvent, expansion: readonly string[], publisher?: string): MaybePromise<void>
  /**
   * The events the history still holds of the channels `pattern` matches, oldest
   * first (by replay id), at most `limit`: those after the replay id `after` (a
   * concrete channel only), or all of them. Undefined when `after` cannot be resumed
   * from whole: an event after it is no longer held, or it was never issued.
   */
  history (pattern: string, after: number | undefined, limit: number): MaybePromise<OutgoingEvent[] | undefined>
  /** Queues `event` for one session, whichever node holds it; false when there is no such session. */
  deliver (sessionId: string, event: OutgoingEvent): MaybePromise<boolean>
  /** A session this node does not hold; undefined when no node does (the single-process engine: always). */
  find (sessionId: string): MaybePromise<RemoteSession | undefined>
  /**
   * Moves a session held elsewhere to this node, for a connect or a WebSocket that
   * arrived here; undefined when it is unknown, or when `socket` is set and a
   * WebSocket is open to it elsewhere. `ack`: the batch the connect acknowledges
   * (acknowledge extension), from which the events of a node that died are replayed.
   */
  claim (sessionId: string, options: { socket: boolean, ack?: number | undefined }): MaybePromise<ClaimedSession | undefined>
  /**
   * A request of a session another node holds was served here: tell that node its
   * client is alive (C77). Engines of one process leave it out.
   */
  touch? (sessionId: string): MaybePromise<void>
  /**
   * A replay of history was read on this node for a session that moved meanwhile: the
   * node that holds it queues `events`, then the live events that waited for them
   * (docs/replay.md, the seam). `abandoned`: the subscribe failed; what waited goes
   * only where the session is still subscribed. Engines of one process leave it out.
   */
  replayed? (sessionId: string, events: readonly OutgoingEvent[], abandoned: boolean): MaybePromise<void>
  /** Acknowledge extension: a local session was sent `batch`, made of `events`. */
  batchSent (sessionId: string, batch: number, events: readonly OutgoingEvent[]): MaybePromise<void>
  /** Acknowledge extension: a local session's client acknowledged every batch up to `batch`. */
  acknowledged (sessionId: string, batch: number): MaybePromise<void>
  /** A local session's WebSocket opened (`true`) or closed. */
  socketBound (sessionId: string, open: boolean): MaybePromise<void>
  /** Ends a session whichever node holds it; its node fires the events. */
  endSession (sessionId: string, reason: 'client' | 'server'): MaybePromise<void>
  /** Live sessions on every node. */
  sessionCount (): MaybePromise<number>
  /**
   * Sessions the other nodes held when the engine last looked, without asking anyone,
   * so that `maxSessions` counts per cluster at no cost per handshake. Engines of one
   * process leave it out.
   */
  sessionsElsewhere? (): number
  close (): MaybePromise<void>
}
