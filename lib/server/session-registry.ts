import { randomBytes } from 'node:crypto'
import * as diagnostics from '../diagnostics.ts'
import type { ResolvedOptions } from '../options.ts'
import type { Link } from './link.ts'
import type { Reporter } from './reporter.ts'
import { Session } from './session.ts'
import type { EndReason, SessionHost } from './session.ts'
import { TimerWheel } from './timer-wheel.ts'

const HOLD_RESOLUTION = 100
const EXPIRY_RESOLUTION = 250

export type RegistryOptions = SessionHost['options'] &
  Pick<ResolvedOptions, 'maxSessionsPerBrowser' | 'trustClientSession' | 'requireHandshakePerConnection'>

/** Told when a session leaves the registry, to clean up after it elsewhere (engine, events). */
export type RemovalListener = (session: Session, reason: EndReason) => void

/** What a round of a drain left to do. */
export interface DrainLeft {
  /** Events still queued, and the sessions they are for. */
  readonly events: number
  readonly sessions: number
  /** Sessions whose WebSocket is still open. */
  readonly sockets: number
}

/**
 * Every live session of this node: lookup by clientId with the binding rules of
 * docs/protocol.md §5.9, held-connect and expiry timers, per-browser hold counts, flush
 * scheduling, and removal. The seam where a multi-node engine plugs in.
 */
export class SessionRegistry implements SessionHost {
  readonly options: RegistryOptions
  // Timer and flush callbacks run application code (listeners, extensions): shielded.
  readonly holds: TimerWheel<Session>
  readonly expiries: TimerWheel<Session>
  readonly tokenExpiries: TimerWheel<Session>
  readonly #reporter: Reporter
  readonly #removed: RemovalListener
  readonly #sessions = new Map<string, Session>()
  readonly #browserHolds = new Map<string, number>()
  #dirty = new Set<Session>()
  #flushScheduled = false
  #closing = false
  #draining = false

  constructor (options: RegistryOptions, reporter: Reporter, removed: RemovalListener) {
    this.options = options
    this.#reporter = reporter
    this.#removed = removed
    this.holds = new TimerWheel(HOLD_RESOLUTION, session => reporter.shield('releasing a held connect', () => session.timedOut()))
    this.expiries = new TimerWheel(EXPIRY_RESOLUTION, session => reporter.shield('expiring a session', () => session.expired()))
    this.tokenExpiries = new TimerWheel(EXPIRY_RESOLUTION, session => reporter.shield('ending a session whose token expired', () => session.tokenExpired()))
  }

  get size (): number {
    return this.#sessions.size
  }

  get closing (): boolean {
    return this.#closing || this.#draining
  }

  get draining (): boolean {
    return this.#draining
  }

  get (id: string): Session | undefined {
    return this.#sessions.get(id)
  }

  /** Every live session, for gauges read on a metrics scrape. */
  values (): IterableIterator<Session> {
    return this.#sessions.values()
  }

  /** A new session for a handshake on `link`; it counts once `add`ed, after the policy said yes. */
  create (link: Link, { ack }: { ack: boolean }): Session {
    return new Session(this, { id: randomBytes(20).toString('hex'), link, ack })
  }

  add (session: Session, link: Link): void {
    this.#sessions.set(session.id, session)
    session.open(link)
    this.#reporter.log.debug({ clientId: session.id, transport: link.transport, remoteAddress: link.remoteAddress }, 'session created')
  }

  /** The session `clientId` names, if `link` may speak for it (docs/protocol.md §5.9). */
  find (clientId: string | undefined, link: Link): Session | undefined {
    if (clientId === undefined) return undefined
    const session = this.#sessions.get(clientId)
    if (session === undefined) return undefined
    const trusted = this.options.trustClientSession
    if (link.kind === 'request') {
      // Over HTTP a clientId counts only with the cookie it was issued with (C100).
      return trusted || (session.browserId !== undefined && session.browserId === link.browserId) ? session : undefined
    }
    if (session.socket === link) return session
    // A new socket resumes a session by clientId (C90, docs/protocol.md §5.4), but never takes
    // over one whose socket is open, nor an HTTP session when the upgrade carried another
    // browser's cookie. An upgrade without the cookie may resume: Faye's Node client opens
    // its socket while its HTTP handshake is in flight, before it has the cookie.
    if (this.options.requireHandshakePerConnection) return undefined
    if (!trusted && link.browserId !== undefined && session.browserId !== undefined && session.browserId !== link.browserId) return undefined
    if (session.socket !== undefined) return undefined
    session.bind(link)
    return session
  }

  /** Forgets the session, ends it, and tells the removal listener; once. */
  remove (session: Session, reason: EndReason): void {
    if (!this.#sessions.delete(session.id)) return
    this.#reporter.log.debug({ clientId: session.id, reason }, 'session ended')
    session.end(reason)
    this.#removed(session, reason)
  }

  overflowed (session: Session, dropped: number): void {
    this.#reporter.overflowed(session, dropped)
  }

  delivered (session: Session, link: Link, count: number): void {
    diagnostics.deliver.publish({ server: this.#reporter.server, session, transport: link.transport, count })
  }

  scheduleFlush (session: Session): void {
    this.#dirty.add(session)
    if (this.#flushScheduled) return
    this.#flushScheduled = true
    setImmediate(this.#flushAll)
  }

  acquireBrowserHold (browserId: string): boolean {
    const max = this.options.maxSessionsPerBrowser
    const held = this.#browserHolds.get(browserId) ?? 0
    if (max >= 0 && held >= max) return false
    this.#browserHolds.set(browserId, held + 1)
    return true
  }

  releaseBrowserHold (browserId: string): void {
    const held = (this.#browserHolds.get(browserId) ?? 1) - 1
    if (held <= 0) this.#browserHolds.delete(browserId)
    else this.#browserHolds.set(browserId, held)
  }

  /**
   * Answers every held connect now, as if its timeout had passed, and stops timers.
   * Sessions are not ended: clients reconnect, and a restarted server (or another
   * node sharing the engine) tells them what to do.
   */
  close (): void {
    this.#closing = true
    for (const session of this.#sessions.values()) session.timedOut()
    this.holds.clear()
    this.expiries.clear()
    this.tokenExpiries.clear()
  }

  /**
   * One round of a drain for shutdown; the first one starts it. From then on no connect
   * is held, and each round every session writes what it can (Session.drain).
   */
  drain (): DrainLeft {
    this.#draining = true
    let events = 0
    let sessions = 0
    let sockets = 0
    for (const session of this.#sessions.values()) {
      try {
        session.drain()
      } catch (error) {
        this.#reporter.log.error({ err: error, clientId: session.id }, 'draining a session failed')
      }
      if (session.queued > 0) {
        events += session.queued
        sessions++
      }
      if (session.socket !== undefined) sockets++
    }
    return { events, sessions, sockets }
  }

  readonly #flushAll = (): void => {
    this.#flushScheduled = false
    const dirty = this.#dirty
    this.#dirty = new Set()
    for (const session of dirty) this.#reporter.shield('flushing a session', () => session.flush())
  }
}
