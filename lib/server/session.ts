import * as diagnostics from '../diagnostics.ts'
import { OutgoingEvent } from '../protocol/outgoing-event.ts'
import { META_CONNECT, META_DISCONNECT } from '../protocol/message.ts'
import { QUEUE_OVERFLOW, SESSION_UNKNOWN } from '../protocol/wire-errors.ts'
import type { Advice, Ext, Message, Reply } from '../protocol/message.ts'
import type { ResolvedOptions } from '../options.ts'
import type { SessionState } from '../engines/engine.ts'
import { AckLedger } from './ack.ts'
import { ReplaySeam } from './replay-seam.ts'
import { drainInterval } from './drain.ts'
import { TokenBucket } from './limiter.ts'
import type { Link, LinkWatcher, PushLink, Respond } from './link.ts'
import { SessionQueue } from './session-queue.ts'
import { SubscriptionSet } from './subscription-set.ts'
import type { SubscriptionHolder } from './subscription-set.ts'
import type { Members } from '../engines/members.ts'
import { WheelTimer } from './timer-wheel.ts'
import type { TimerWheel } from './timer-wheel.ts'

/** Why a session ended; `token-expired`: the token it was admitted with expired (tokenAuth). */
export type EndReason = 'client' | 'server' | 'expired' | 'overflow' | 'token-expired'

/** A session as applications see it: in events, listeners, policies and `getSession`. */
export interface ServerSession {
  /** The clientId. */
  readonly id: string
  /** Free for applications (e.g. the authenticated user). */
  readonly attributes: Map<string, unknown>
  /** The transport of the latest connect, once there was one. */
  readonly transport: string | undefined
  readonly remoteAddress: string | undefined
  /** Who the client authenticated as: the `sub` of its token, with tokenAuth. */
  readonly userId: string | undefined
  /** Channels and patterns this session is subscribed to. */
  readonly subscriptions: ReadonlySet<string>
  /** Sends `data` on `channel` to this session only. */
  deliver (channel: string, data: unknown, ext?: Ext): void
  /** Ends the session from the server side; the client is told (C74). */
  disconnect (): void
}

export type SessionOptions = Pick<ResolvedOptions,
  'timeout' | 'interval' | 'maxInterval' | 'multiSessionInterval' | 'maxQueue' | 'maxQueueBytes' |
  'queueOverflow' | 'publishRate' | 'publishBurst'>

/** What a session needs from the registry that owns it. */
export interface SessionHost {
  readonly options: SessionOptions
  /** Each session's one deadline: its held connect's timeout while it holds one, else its expiry. */
  readonly clocks: TimerWheel<Session>
  /** Sessions admitted with a token that expires (tokenAuth). */
  readonly tokenExpiries: TimerWheel<Session>
  /** Shutting down: no connect is held any more. */
  readonly closing: boolean
  /** Draining for shutdown (closing too): connects are told to come back after a random pause. */
  readonly draining: boolean
  /** Flushes the session once, at the end of this tick, however many events arrive in it. */
  scheduleFlush (session: Session): void
  /**
   * May a connect be held on `link`? Over HTTP, not when `browser` holds as many as it
   * may (docs/protocol.md §5.7). Counts it if so, until `holdEnded`.
   */
  holdStarted (link: Link, browser: BrowserHolds | undefined): boolean
  holdEnded (link: Link, browser: BrowserHolds | undefined): void
  /** The queue overflowed and `dropped` events were discarded (drop-oldest). */
  overflowed (session: Session, dropped: number): void
  /** Forgets the session everywhere (engine, registry, listeners), then ends it. */
  remove (session: Session, reason: EndReason): void
  /** `count` events were written to the session's `link` (called only while diagnostics listen). */
  delivered (session: Session, link: Link, count: number): void
  /** A WebSocket was bound to the session (`true`) or closed. */
  socketBound (session: Session, open: boolean): void
  /** Queues an event for a session that another node holds. */
  forward (session: Session, event: OutgoingEvent): void
  /** Sends a replay to the node a session moved to while it was read there (Engine.replayed). */
  forwardReplay (session: Session, events: readonly OutgoingEvent[], abandoned: boolean): void
  /** Tells the node that holds a session that its client sent a message elsewhere. */
  touchElsewhere (session: Session): void
  /** Acknowledge extension: `batch` of `events` went out; the client acknowledged `batch`. */
  batchSent (session: Session, batch: number, events: readonly OutgoingEvent[]): void
  acknowledged (session: Session, batch: number): void
}

/** How a session object comes to be on this node. */
export interface SessionIdentity {
  readonly id: string
  readonly browserId: string | undefined
  readonly remoteAddress: string | undefined
  readonly ack: boolean
  /**
   * A view of a session that another node holds, for one request that landed here:
   * it has no timers and no queue, and what it is asked to do goes to that node.
   */
  readonly visitor?: boolean
}

/** Whether a connect came alone in its payload (C39): only then may it be held. */
export type ConnectPayload = 'alone' | 'batched'

/**
 * A connect held until an event arrives, its time is up, or its session ends. It keeps
 * what its reply needs rather than the reply: every idle session holds one.
 */
class HeldConnect {
  readonly #id: string | undefined
  advice: Advice | undefined
  readonly respond: Respond
  readonly link: Link

  constructor ({ id, advice }: Reply, respond: Respond, link: Link) {
    this.#id = id
    this.advice = advice
    this.respond = respond
    this.link = link
  }

  /** Its reply, made when it goes out. */
  get reply (): Reply {
    const reply: Reply = { id: this.#id, channel: META_CONNECT, successful: true }
    if (this.advice !== undefined) reply.advice = this.advice
    return reply
  }
}

/**
 * What few sessions need, made on first use: an idle session of a large server has
 * none of it, and pays one field for all of it.
 */
class SessionExtras {
  userId: string | undefined = undefined
  tokenExpiresAt: number | undefined = undefined
  visitor = false
  ack: AckLedger | undefined = undefined
  publishLimit: TokenBucket | undefined = undefined
  tokenExpiry: WheelTimer<Session> | undefined = undefined
  attributes: Map<string, unknown> | undefined = undefined
  /** Made when the session first replays history (docs/replay.md). */
  seam: ReplaySeam | undefined = undefined
  /** Another node took the session over (release). */
  movedAway = false
  awaitingDrain = false
}

/** What the server sends a session when it ends it (C74). */
const SERVER_DISCONNECT: Reply = { channel: META_DISCONNECT, successful: true }

/** The connects held over HTTP by the sessions of one browser cookie on this node (C38). */
export interface BrowserHolds {
  held: number
}

/** One client's state on the server: its queue, its held connect, its expiry. */
export class Session implements ServerSession, LinkWatcher, SubscriptionHolder {
  readonly id: string
  /** HTTP sessions: the browser cookie they were created with (C100). */
  readonly browserId: string | undefined
  readonly remoteAddress: string | undefined
  /** What `subscriptions` reads and changes; one subscription, what most sessions have, is the string itself. */
  subscribed: Members | undefined = undefined
  /**
   * Its browser's held connects, shared with the browser's other sessions; set by the
   * registry while the session lives here, so that a hold counts without a lookup.
   */
  browser: BrowserHolds | undefined = undefined

  readonly #host: SessionHost
  readonly #clock = new WheelTimer<Session>(this)
  /** Made when an event queues, let go once drained: an idle session has none. */
  #queue: SessionQueue | undefined
  #extras: SessionExtras | undefined
  #hold: HeldConnect | undefined
  /** The WebSocket this session is bound to, if any. */
  #socket: PushLink | undefined
  #transport: string | undefined
  #connected = false
  #ended = false
  #interval: number

  constructor (host: SessionHost, { id, browserId, remoteAddress, ack, visitor = false }: SessionIdentity) {
    this.#host = host
    this.id = id
    this.browserId = browserId
    this.remoteAddress = remoteAddress
    this.#interval = host.options.interval
    if (visitor) this.#more.visitor = true
    if (ack) this.#more.ack = new AckLedger()
  }

  /** The extras, made now if need be. */
  get #more (): SessionExtras {
    return (this.#extras ??= new SessionExtras())
  }

  /** With acks, events travel only in connect replies, so their order is strict (A25). */
  get #ack (): AckLedger | undefined {
    return this.#extras?.ack
  }

  /** Set by tokenAuth during the handshake. */
  get userId (): string | undefined {
    return this.#extras?.userId
  }

  set userId (userId: string | undefined) {
    if (userId !== undefined || this.#extras !== undefined) this.#more.userId = userId
  }

  /** When the token the session is admitted with expires, in ms since the epoch; set by tokenAuth during the handshake. */
  get tokenExpiresAt (): number | undefined {
    return this.#extras?.tokenExpiresAt
  }

  set tokenExpiresAt (at: number | undefined) {
    if (at !== undefined || this.#extras !== undefined) this.#more.tokenExpiresAt = at
  }

  /**
   * A view of a session that another node holds, for one request that landed here:
   * it has no timers and no queue, and what it is asked to do goes to that node.
   */
  get visitor (): boolean {
    return this.#extras?.visitor === true
  }

  /** A set made for each read: an idle session keeps no object for its subscriptions. */
  get subscriptions (): SubscriptionSet {
    return new SubscriptionSet(this)
  }

  /** The handshake was accepted, or the session moved here: bind a WebSocket, start the expiry clock. */
  open (link: Link): void {
    if (link.kind === 'push') this.bind(link)
    this.#expireIn(this.#host.options.maxInterval)
    const extras = this.#extras
    if (extras?.tokenExpiresAt !== undefined) this.#host.tokenExpiries.schedule(extras.tokenExpiry ??= new WheelTimer(this), Math.max(0, extras.tokenExpiresAt - Date.now()))
  }

  /** The client asked for the acknowledge extension (docs/protocol.md §6.2). */
  get ack (): boolean {
    return this.#ack !== undefined
  }

  get attributes (): Map<string, unknown> {
    return (this.#more.attributes ??= new Map())
  }

  /** The attributes that can travel to another node, without making the map of a session that has none. */
  portableAttributes (): Record<string, unknown> {
    return portable(this.#extras?.attributes)
  }

  get ended (): boolean {
    return this.#ended
  }

  /** A connect is held. */
  get held (): boolean {
    return this.#hold !== undefined
  }

  get transport (): string | undefined {
    return this.#transport
  }

  /** Events waiting to be written. */
  get queued (): number {
    return this.#queue?.length ?? 0
  }

  /** The open WebSocket this session is bound to, if any. */
  get socket (): PushLink | undefined {
    return this.#socket !== undefined && !this.#socket.closed ? this.#socket : undefined
  }

  deliver (channel: string, data: unknown, ext?: Ext): void {
    const event = OutgoingEvent.of({ channel, data, ...(ext !== undefined && { ext }) })
    if (this.visitor) this.#host.forward(this, event)
    else this.enqueue(event)
  }

  disconnect (): void {
    if (!this.#ended) this.#host.remove(this, 'server')
  }

  /** Binds a WebSocket: events are pushed on it from now on (C89, C90). */
  bind (link: PushLink): void {
    if (this.#socket === link) return
    this.#socket = link
    if (this.#extras !== undefined) this.#extras.awaitingDrain = false
    this.#host.socketBound(this, true)
    link.onClose(this)
    // Events that queued while no socket was bound go out on this one (C78).
    if (this.queued > 0) this.#host.scheduleFlush(this)
  }

  /** Takes one publish token; false when the session publishes too fast. */
  mayPublish (): boolean {
    const { publishRate, publishBurst } = this.#host.options
    if (publishRate === 0) return true
    const extras = this.#more
    return (extras.publishLimit ??= new TokenBucket(publishRate, publishBurst)).take()
  }

  /** A message other than a connect arrived: the session is alive (C77), wherever it is held. */
  touch (): void {
    if (this.visitor) this.#host.touchElsewhere(this)
    else if (this.#hold === undefined && !this.#ended) this.#extendExpiry(this.#host.options.maxInterval)
  }

  enqueue (event: OutgoingEvent): void {
    const seam = this.#extras?.seam
    if (seam !== undefined && !seam.admits(event)) return
    this.#push(event)
  }

  /** A replay of history starts: live events wait until `replayed` ends it. */
  holdLive (): void {
    const extras = this.#more
    const seam = extras.seam ??= new ReplaySeam()
    seam.hold()
  }

  /**
   * A replay ends: its `events` are queued, then the live events that waited, less
   * those it held and those `keep` refuses (when the subscribe failed).
   */
  replayed (events: readonly OutgoingEvent[], keep?: (event: OutgoingEvent) => boolean): void {
    // Moved to another node while the replay was read: its seam went there, and waits for this.
    if (this.#extras?.movedAway === true) {
      this.#host.forwardReplay(this, events, keep !== undefined)
      return
    }
    // No seam only for a replay sent after the session by a node whose handover timed out.
    const extras = this.#more
    const seam = extras.seam ??= new ReplaySeam()
    for (const event of events) {
      seam.replayed(event)
      this.#push(event)
    }
    for (const event of seam.release(keep)) this.#push(event)
  }

  #push (event: OutgoingEvent): void {
    if (this.#ended) return
    const options = this.#host.options
    const queue = this.#queue ??= new SessionQueue()
    if (queue.isOver(options, 1 + (this.#ack?.pending ?? 0), event.size)) {
      if (options.queueOverflow === 'disconnect') {
        this.#host.remove(this, 'overflow')
        return
      }
      let dropped = 0
      while (queue.isOver(options, 1 + (this.#ack?.pending ?? 0), event.size)) {
        if (queue.shift() === undefined && !this.#ack?.dropOldest()) break
        dropped++
      }
      this.#host.overflowed(this, dropped)
    }
    queue.push(event)
    this.#host.scheduleFlush(this)
  }

  /** Writes queued events wherever they can go now: a held connect, or the socket. */
  flush (): void {
    if (this.#ended || this.queued === 0) return
    // Over HTTP (or with acks) events travel in the connect reply; over a WebSocket
    // they are pushed and the held connect stays held (C33, C92).
    if (this.#hold !== undefined && this.#repliesCarryEvents(this.#hold.link)) {
      this.#release(this.#hold)
      return
    }
    const socket = this.#socket
    if (socket === undefined || this.#ack !== undefined) return
    if (socket.backlogged) {
      const extras = this.#more
      if (!extras.awaitingDrain) {
        extras.awaitingDrain = true
        socket.onDrain(() => {
          extras.awaitingDrain = false
          this.#host.scheduleFlush(this)
        })
      }
      return
    }
    const events = this.#drainQueue()
    socket.push(events)
    if (diagnostics.deliver.hasSubscribers) this.#host.delivered(this, socket, events.length)
  }

  /**
   * Handles a /meta/connect (docs/protocol.md §3.2): answers at once, or holds the reply
   * until an event arrives, the timeout passes, or the session ends.
   */
  connect (message: Message, link: Link, respond: Respond, payload: ConnectPayload): void {
    const options = this.#host.options
    const reply: Reply = { id: message.id, channel: META_CONNECT, successful: true }
    if (this.#hold !== undefined) this.#supersede(this.#hold)

    const ack = message.ext?.['ack']
    if (this.#ack !== undefined && typeof ack === 'number' && this.#ack.acknowledge(ack)) this.#host.acknowledged(this, ack)

    // A client's advice overrides the server's for this cycle, within the server's bounds (C40).
    const asked = message.advice
    const timeout = clamp(asked?.timeout, options.timeout)
    this.#interval = clamp(asked?.interval, options.maxInterval, options.interval)
    const moved = this.#transport !== undefined && this.#transport !== link.transport
    this.#transport = link.transport
    if (link.kind === 'push') this.bind(link)
    if (asked !== undefined || moved) reply.advice = this.#advice()
    if (this.#host.draining) reply.advice = this.#drainAdvice()

    const wasConnected = this.#connected
    this.#connected = true
    let hold = payload === 'alone' && wasConnected && timeout > 0 && !this.#host.closing &&
      !(this.queued > 0 && this.#repliesCarryEvents(link)) && (this.#ack === undefined || this.#ack.pending === 0)
    if (hold && !this.#host.holdStarted(link, this.browser)) {
      // Another tab of this browser holds a connect: degrade this one to polling (C38).
      reply.advice = { ...this.#advice(), 'multiple-clients': true, interval: options.multiSessionInterval }
      hold = false
    }
    if (!hold) {
      this.#answer(reply, respond, link)
      if (link.kind === 'push') this.flush()
      return
    }
    // Answered at once, the expiry moves (#answer); held, the session does not expire:
    // its clock runs to the connect's timeout instead.
    this.#hold = new HeldConnect(reply, respond, link)
    // A socket is watched already: it is bound to the session (above).
    if (link.kind === 'request') link.onClose(this)
    this.#host.clocks.schedule(this.#clock, timeout)
  }

  /**
   * Draining for shutdown: queued events go where they can (a WebSocket, or a held
   * connect's reply), a held connect is answered and told to come back after a random
   * pause, and a WebSocket with nothing left to write is let go (closed with 1001).
   * Called again until the drain ends: events that arrive meanwhile go out too.
   */
  drain (): void {
    if (this.#ended) return
    const hold = this.#hold
    if (hold !== undefined) hold.advice = this.#drainAdvice()
    // Events first: over HTTP they release the hold themselves; over a WebSocket they go before its answer.
    this.flush()
    if (this.#hold !== undefined) this.#release(this.#hold)
    if (this.queued === 0) this.socket?.end()
  }

  /**
   * Another node took the session over: stop holding it here, without ending it or
   * telling anyone, and return what that node needs to carry on. A held HTTP connect
   * is answered empty, as if superseded (C34); a socket stays open, and its next
   * message finds the session where it went.
   */
  release (): SessionState {
    this.#ended = true
    const extras = this.#more
    extras.movedAway = true
    this.#stopClocks()
    if (this.#hold !== undefined) this.#supersede(this.#hold)
    this.#socket = undefined
    const seam = extras.seam?.state
    // Replays still being read here go after the seam (replayed): it waits for them there.
    extras.seam = undefined
    return {
      queued: this.#drainQueue(),
      unacked: this.#ack?.state,
      connected: this.#connected,
      interval: this.#interval,
      transport: this.#transport,
      attributes: this.portableAttributes(),
      ...(seam !== undefined && { seam })
    }
  }

  /** Takes over the state another node released (before `open`). */
  restore (state: SessionState): void {
    if (state.queued.length > 0) {
      const queue = this.#queue ??= new SessionQueue()
      for (const event of state.queued) queue.push(event)
    }
    if (state.unacked !== undefined && this.#ack !== undefined) this.#more.ack = AckLedger.from(state.unacked)
    this.#connected = state.connected
    if (state.interval !== undefined) this.#interval = state.interval
    this.#transport = state.transport
    for (const [name, value] of Object.entries(state.attributes)) this.attributes.set(name, value)
    if (state.seam !== undefined) this.#more.seam = ReplaySeam.from(state.seam)
  }

  /** The held connect's time is up (C30). */
  timedOut (): void {
    if (this.#hold !== undefined) this.#release(this.#hold)
  }

  /**
   * Ends the session: answers a held connect with `reconnect:"none"` (C36, C72) and
   * tells a server-ended client why. Called by the host, once.
   */
  end (reason: EndReason): void {
    if (this.#ended) return
    this.#ended = true
    this.#stopClocks()
    const hold = this.#hold
    const events = reason === 'server' ? [...this.#drainQueue(), new OutgoingEvent(SERVER_DISCONNECT)] : []
    if (hold !== undefined) {
      this.#clearHold(hold)
      hold.respond(events, [endReply(hold.reply, reason)])
    } else if (reason === 'server') {
      this.socket?.push(events)
    }
    this.#drainQueue()
  }

  /** Its token expired: the client must handshake again, with a fresh one. */
  tokenExpired (): void {
    if (!this.#ended) this.#host.remove(this, 'token-expired')
  }

  /** Session expiry is due (C75). */
  expired (): void {
    if (this.#hold === undefined && !this.#ended) this.#host.remove(this, 'expired')
  }

  /** Takes every queued event, and lets the queue go. */
  #drainQueue (): OutgoingEvent[] {
    const events = this.#queue?.drain() ?? []
    this.#queue = undefined
    return events
  }

  /** Over HTTP, and on any link with acks, events travel in connect replies; over a bare WebSocket they are pushed. */
  #repliesCarryEvents (link: Link): boolean {
    return link.kind === 'request' || this.#ack !== undefined
  }

  /**
   * Advertises the server's hold time and interval, not this cycle's: clients size their wait for the
   * next connects on it, and a first connect's `{timeout:0}` echoed back makes them give up
   * on every held connect (CometD JS after 10 s, Faye after 1.2 × retry).
   */
  #advice (): Advice {
    return { reconnect: 'retry', interval: this.#host.options.interval, timeout: this.#host.options.timeout }
  }

  /** Come back later, each client after its own pause (lib/server/drain.ts). */
  #drainAdvice (): Advice {
    return { ...this.#advice(), interval: drainInterval() }
  }

  #answer (reply: Reply, respond: Respond, link: Link): void {
    let events = this.#repliesCarryEvents(link) ? this.#drainQueue() : []
    if (this.#ack !== undefined) {
      const sent = this.#ack.send(events)
      events = sent.events
      if (events.length > 0) this.#host.batchSent(this, sent.batch, events)
      reply.ext = { ack: sent.batch }
    }
    respond(events, [reply])
    if (events.length > 0 && diagnostics.deliver.hasSubscribers) this.#host.delivered(this, link, events.length)
    this.#expireIn(this.#interval + this.#host.options.maxInterval)
  }

  #release (hold: HeldConnect): void {
    this.#clearHold(hold)
    this.#answer(hold.reply, hold.respond, hold.link)
  }

  /** A newer connect replaces the held one (C34): a request is answered empty, a socket carries the newer answer. */
  #supersede (hold: HeldConnect): void {
    this.#clearHold(hold)
    if (hold.link.kind === 'request') hold.respond([], [hold.reply])
  }

  /**
   * A link this session watches went away: its socket, or the request its connect is
   * held on. A connect held on it is dropped, keeping the events for the next one.
   */
  linkClosed (): void {
    const hold = this.#hold
    if (hold?.link.closed === true) {
      this.#clearHold(hold)
      this.#expireIn(this.#interval + this.#host.options.maxInterval)
    }
    if (this.#socket?.closed !== true) return
    this.#socket = undefined
    if (!this.#ended) this.#host.socketBound(this, false)
  }

  /** The hold ends; its caller sets the clock to the expiry, or stops it. */
  #clearHold (hold: HeldConnect): void {
    this.#hold = undefined
    this.#host.clocks.cancel(this.#clock)
    if (hold.link.kind === 'request') hold.link.offClose(this)
    this.#host.holdEnded(hold.link, this.browser)
  }

  #stopClocks (): void {
    this.#host.clocks.cancel(this.#clock)
    const tokenExpiry = this.#extras?.tokenExpiry
    if (tokenExpiry !== undefined) this.#host.tokenExpiries.cancel(tokenExpiry)
  }

  /** Moves the expiry deadline to `delay` from now (no connect is held). */
  #expireIn (delay: number): void {
    this.#host.clocks.schedule(this.#clock, delay)
  }

  /** Moves the expiry deadline to `delay` from now, unless it is later already (the wheel knows it). */
  #extendExpiry (delay: number): void {
    this.#host.clocks.extend(this.#clock, delay)
  }
}

/**
 * What a held connect is told when its session ends: stop, when the client or the
 * server chose to end it (C36, C72, C74); start over with a handshake when the
 * session was lost (expired, overflowed, its token expired), so the client does not give up.
 */
function endReply (held: Reply, reason: EndReason): Reply {
  switch (reason) {
    case 'client':
    case 'server':
      return { ...held, advice: { reconnect: 'none' } }
    case 'overflow':
      return { ...held, successful: false, error: QUEUE_OVERFLOW, advice: { reconnect: 'handshake', interval: 0 } }
    default:
      return { ...held, successful: false, error: SESSION_UNKNOWN, advice: { reconnect: 'handshake', interval: 0 } }
  }
}

/** The attributes that can travel to another node: those whose value is JSON. */
function portable (attributes: ReadonlyMap<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (attributes === undefined) return out
  for (const [name, value] of attributes) {
    try {
      if (JSON.stringify(value) !== undefined) out[name] = value
    } catch {
      // A value that cannot become JSON stays on the node that set it.
    }
  }
  return out
}

/** A client-supplied duration, bounded by the server's maximum; `fallback` when absent. */
function clamp (value: number | undefined, max: number, fallback = max): number {
  if (value === undefined || !Number.isFinite(value)) return fallback
  return Math.min(Math.max(0, Math.floor(value)), max)
}
