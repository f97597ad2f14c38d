import { randomBytes } from 'node:crypto'
import * as diagnostics from '../diagnostics.ts'
import type { Engine, RemoteSession, SessionRecord, SessionState } from '../engines/engine.ts'
import type { Message } from '../protocol/message.ts'
import type { OutgoingEvent } from '../protocol/outgoing-event.ts'
import type { ResolvedOptions } from '../options.ts'
import type { Link } from './link.ts'
import type { Reporter } from './reporter.ts'
import { Session } from './session.ts'
import type { BrowserHolds, EndReason, SessionHost } from './session.ts'
import { TimerWheel } from './timer-wheel.ts'

/** ms: how late a held connect's timeout or a session's expiry may fire. */
const CLOCK_RESOLUTION = 100
/** ms: how late a session whose token expired may end. */
const TOKEN_RESOLUTION = 250

export type RegistryOptions = SessionHost['options'] &
  Pick<ResolvedOptions, 'maxSessionsPerBrowser' | 'trustClientSession' | 'requireHandshakePerConnection'>

/** Told when a session leaves the registry, to clean up after it elsewhere (engine, events). */
export type RemovalListener = (session: Session, reason: EndReason) => void

/** A browser cookie's held connects, and how many of its sessions live here to share them. */
interface Browser extends BrowserHolds {
  readonly id: string
  sessions: number
}

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
 * scheduling, and removal. With a multi-node engine it also finds sessions that other
 * nodes hold, and takes them over when their connect arrives here (docs/cluster.md).
 */
export class SessionRegistry implements SessionHost {
  readonly options: RegistryOptions
  // Timer and flush callbacks run application code (listeners, extensions): shielded.
  readonly clocks: TimerWheel<Session>
  readonly tokenExpiries: TimerWheel<Session>
  readonly #reporter: Reporter
  readonly #engine: Engine
  readonly #removed: RemovalListener
  readonly #sessions = new Map<string, Session>()
  readonly #browsers = new Map<string, Browser>()
  #dirty = new Set<Session>()
  #flushScheduled = false
  #held = 0
  #closing = false
  #draining = false

  constructor (options: RegistryOptions, reporter: Reporter, engine: Engine, removed: RemovalListener) {
    this.options = options
    this.#reporter = reporter
    this.#engine = engine
    this.#removed = removed
    this.clocks = new TimerWheel(CLOCK_RESOLUTION, session => {
      if (session.held) reporter.shield('releasing a held connect', () => session.timedOut())
      else reporter.shield('expiring a session', () => session.expired())
    })
    this.tokenExpiries = new TimerWheel(TOKEN_RESOLUTION, session => reporter.shield('ending a session whose token expired', () => session.tokenExpired()))
  }

  get size (): number {
    return this.#sessions.size
  }

  /** Connects held on this node, on every transport. */
  get held (): number {
    return this.#held
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
    const browserId = link.kind === 'request' ? link.browserId : undefined
    return new Session(this, { id: randomBytes(20).toString('hex'), browserId, remoteAddress: link.remoteAddress, ack })
  }

  /** What every node keeps of a session whose handshake completed. */
  recordOf (session: Session): SessionRecord {
    return {
      browserId: session.browserId,
      remoteAddress: session.remoteAddress,
      ack: session.ack,
      userId: session.userId,
      tokenExpiresAt: session.tokenExpiresAt,
      attributes: session.portableAttributes()
    }
  }

  add (session: Session, link: Link): void {
    this.#sessions.set(session.id, session)
    this.#joinBrowser(session)
    session.open(link)
    this.#reporter.log.debug({ clientId: session.id, transport: link.transport, remoteAddress: link.remoteAddress }, 'session created')
  }

  /**
   * The session `clientId` names, if `link` may speak for it (docs/protocol.md §5.9).
   * A session another node holds is looked up there: a connect or a subscribe that
   * replays history (`connect`, the message) or a WebSocket takes it over, any other
   * request gets a visitor view of it.
   */
  find (clientId: string | undefined, link: Link, connect: Message | undefined): Session | undefined | Promise<Session | undefined> {
    if (clientId === undefined) return undefined
    const session = this.#sessions.get(clientId)
    if (session === undefined) {
      const remote = this.#engine.find(clientId)
      return remote === undefined ? undefined : this.#findElsewhere(clientId, remote, link, connect)
    }
    if (link.kind === 'push' && session.socket === link) return session
    if (!this.#admits(session.browserId, session.socket !== undefined, link)) return undefined
    if (link.kind === 'push') session.bind(link)
    return session
  }

  /**
   * The binding rules. Over HTTP a clientId counts only with the cookie it was issued
   * with (C100). A new socket resumes a session by clientId (C90, docs/protocol.md
   * §5.4), but never takes over one whose socket is open, nor an HTTP session when the
   * upgrade carried another browser's cookie. An upgrade without the cookie may resume:
   * Faye's Node client opens its socket while its HTTP handshake is in flight, before
   * it has the cookie.
   */
  #admits (browserId: string | undefined, socketOpen: boolean, link: Link): boolean {
    const trusted = this.options.trustClientSession
    if (link.kind === 'request') return trusted || (browserId !== undefined && browserId === link.browserId)
    if (this.options.requireHandshakePerConnection) return false
    if (!trusted && link.browserId !== undefined && browserId !== undefined && browserId !== link.browserId) return false
    return !socketOpen
  }

  async #findElsewhere (id: string, lookup: Promise<RemoteSession | undefined> | RemoteSession, link: Link, connect: Message | undefined): Promise<Session | undefined> {
    const found = await lookup
    if (found === undefined || !this.#admits(found.record.browserId, found.socketOpen, link)) return undefined
    if (link.kind === 'request' && connect === undefined) return this.#materialize(id, found, true)
    const ack = connect?.ext?.['ack']
    const claimed = await this.#engine.claim(id, { socket: link.kind === 'push', ack: typeof ack === 'number' ? ack : undefined })
    // A concurrent request of the same client may have brought it here first.
    const here = this.#sessions.get(id)
    if (here !== undefined) return here
    if (claimed === undefined) return undefined
    const session = this.#materialize(id, claimed, false)
    if (claimed.state !== undefined) session.restore(claimed.state)
    this.#sessions.set(id, session)
    this.#joinBrowser(session)
    session.open(link)
    this.#reporter.log.debug({ clientId: id, transport: link.transport }, 'session moved here')
    return session
  }

  /**
   * A session of a dead node that ended through this node's engine (EngineHost.ended),
   * as its events show it; never added here.
   */
  detached (id: string, found: RemoteSession): Session {
    this.#reporter.log.debug({ clientId: id }, 'session of a dead node ended')
    return this.#materialize(id, found, true)
  }

  #materialize (id: string, { record, subscriptions }: RemoteSession, visitor: boolean): Session {
    const session = new Session(this, { id, browserId: record.browserId, remoteAddress: record.remoteAddress, ack: record.ack, visitor })
    session.userId = record.userId
    session.tokenExpiresAt = record.tokenExpiresAt
    for (const [name, value] of Object.entries(record.attributes ?? {})) session.attributes.set(name, value)
    for (const pattern of subscriptions) session.subscriptions.add(pattern)
    return session
  }

  /** Another node took the session over (EngineHost.release). */
  release (id: string): SessionState | undefined {
    const session = this.#sessions.get(id)
    if (session === undefined) return undefined
    this.#sessions.delete(id)
    this.#reporter.log.debug({ clientId: id }, 'session moved to another node')
    const state = session.release()
    this.#leaveBrowser(session)
    return state
  }

  socketBound (session: Session, open: boolean): void {
    this.#reporter.settle(this.#engine.socketBound(session.id, open), 'socketBound')
  }

  forward (session: Session, event: OutgoingEvent): void {
    this.#reporter.settle(this.#engine.deliver(session.id, event), 'deliver')
  }

  forwardReplay (session: Session, events: readonly OutgoingEvent[], abandoned: boolean): void {
    this.#reporter.settle(this.#engine.replayed?.(session.id, events, abandoned), 'replayed')
  }

  touchElsewhere (session: Session): void {
    this.#reporter.settle(this.#engine.touch?.(session.id), 'touch')
  }

  batchSent (session: Session, batch: number, events: readonly OutgoingEvent[]): void {
    this.#reporter.settle(this.#engine.batchSent(session.id, batch, events), 'batchSent')
  }

  acknowledged (session: Session, batch: number): void {
    this.#reporter.settle(this.#engine.acknowledged(session.id, batch), 'acknowledged')
  }

  /**
   * Forgets the session, ends it, and tells the removal listener; once. A visitor's
   * node is asked to do it, and fires the events there.
   */
  remove (session: Session, reason: EndReason): void {
    if (session.visitor) {
      if (reason === 'client' || reason === 'server') this.#reporter.settle(this.#engine.endSession(session.id, reason), 'endSession')
      return
    }
    if (this.#sessions.get(session.id) !== session) return
    this.#sessions.delete(session.id)
    this.#reporter.log.debug({ clientId: session.id, reason }, 'session ended')
    session.end(reason)
    this.#leaveBrowser(session)
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

  holdStarted (link: Link, browser: BrowserHolds | undefined): boolean {
    if (link.kind === 'request' && browser !== undefined) {
      const max = this.options.maxSessionsPerBrowser
      if (max >= 0 && browser.held >= max) return false
      browser.held++
    }
    this.#held++
    return true
  }

  holdEnded (link: Link, browser: BrowserHolds | undefined): void {
    this.#held--
    if (link.kind === 'request' && browser !== undefined && browser.held > 0) browser.held--
  }

  /**
   * The session's browser from now on: found once here, not at each held connect. Its
   * holds count against the cookie the session was created with, which is the one
   * every request of it carries unless `trustClientSession` lets it come without.
   */
  #joinBrowser (session: Session): void {
    const id = session.browserId
    if (id === undefined) return
    let browser = this.#browsers.get(id)
    if (browser === undefined) this.#browsers.set(id, browser = { id, held: 0, sessions: 0 })
    browser.sessions++
    session.browser = browser
  }

  /** After the session's hold ended: the browser is forgotten with its last session here. */
  #leaveBrowser (session: Session): void {
    const browser = session.browser as Browser | undefined
    if (browser === undefined) return
    session.browser = undefined
    if (--browser.sessions === 0) this.#browsers.delete(browser.id)
  }

  /**
   * Answers every held connect now, as if its timeout had passed, and stops timers.
   * Sessions are not ended: clients reconnect, and a restarted server (or another
   * node sharing the engine) tells them what to do.
   */
  close (): void {
    this.#closing = true
    for (const session of this.#sessions.values()) session.timedOut()
    this.clocks.clear()
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
