import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import * as errors from '../protocol/bayeux-errors.ts'
import { ChannelParser } from '../protocol/channel.ts'
import type { ChannelName } from '../protocol/channel.ts'
import { Event } from '../protocol/event.ts'
import {
  META_CONNECT, META_DISCONNECT, META_HANDSHAKE, META_SUBSCRIBE, META_UNSUBSCRIBE
} from '../protocol/message.ts'
import type { EventMessage, Ext, Message, Reply } from '../protocol/message.ts'
import { checkMessage } from '../protocol/validation.ts'
import { MemoryEngine } from '../engines/memory.ts'
import type { Engine } from '../engines/engine.ts'
import { BayeuxServerError, ERR_INVALID_CHANNEL, ERR_INVALID_EXTENSION } from '../errors.ts'
import { resolveOptions } from '../options.ts'
import type { Options, ResolvedOptions } from '../options.ts'
import * as diagnostics from '../diagnostics.ts'
import { ExtensionChain, HOOKS } from './extensions.ts'
import type { Extension, Hooked } from './extensions.ts'
import type { Link, Respond } from './link.ts'
import type { SecurityPolicy } from './security.ts'
import { ServerSession } from './session.ts'
import type { EndReason, SessionHost, SessionSettings } from './session.ts'
import { TimerWheel } from './timer-wheel.ts'
import { Authorizers } from './authorizers.ts'
import { PatternRegistry } from './pattern-registry.ts'
import type { Authorizer } from './authorizers.ts'
import { timesync } from './timesync.ts'

/** The subset of pino's logger the core uses. */
export interface Logger {
  warn (object: object, message?: string): void
  error (object: object, message?: string): void
  debug (object: object, message?: string): void
}

/**
 * A server-side listener for publishes on channels matching its pattern. On a
 * `/service/` channel, a value it returns (or resolves) other than undefined is sent
 * back to the caller as the answer of its remote call (C66).
 */
export type ChannelListener = (message: EventMessage, session: ServerSession | undefined) => unknown

export interface BayeuxEvents {
  handshake: [session: ServerSession]
  subscribe: [session: ServerSession, channel: string]
  unsubscribe: [session: ServerSession, channel: string]
  publish: [message: EventMessage, session: ServerSession | undefined]
  disconnect: [session: ServerSession, reason: EndReason]
  /** A session's queue was full and `dropped` events were discarded. */
  overflow: [session: ServerSession, dropped: number]
}

/** What embedders pass: any option, plus the pluggable parts. */
export interface BayeuxOptions extends Partial<Options> {
  /** Routing and session bookkeeping; default: a new MemoryEngine. */
  engine?: Engine
  policy?: SecurityPolicy
  extensions?: Extension[]
}

/** Where bad input came from, for the log line. */
export interface InputSource {
  readonly transport: string
  readonly remoteAddress: string | undefined
}

const HOLD_RESOLUTION = 100
const MAX_REMEMBERED_CHANNELS = 100_000
/** The `<reason>` of a denial by an authorizer (BAYEUX.md §3.7). */
const AUTHORIZER_DENIAL = 'denied_by_authorizer'
const EXPIRY_RESOLUTION = 250
const silentLogger: Logger = { warn () {}, error () {}, debug () {} }

/**
 * The protocol core (BAYEUX.md §3): takes the messages a transport received, on a
 * Link, and answers through a Respond callback. It does not know how either travels.
 */
export class BayeuxServer extends EventEmitter<BayeuxEvents> implements SessionHost {
  readonly options: ResolvedOptions
  readonly settings: SessionSettings
  // Timer and flush callbacks run application code (listeners, extensions): shielded.
  readonly holds = new TimerWheel<ServerSession>(HOLD_RESOLUTION, s => this.#shield('releasing a held connect', () => s.timedOut()))
  readonly expiries = new TimerWheel<ServerSession>(EXPIRY_RESOLUTION, s => this.#shield('expiring a session', () => s.expired()))
  readonly channels: ChannelParser
  log: Logger = silentLogger

  readonly #engine: Engine
  readonly #policy: SecurityPolicy
  readonly #extensions = new ExtensionChain()
  readonly #sessions = new Map<string, ServerSession>()
  readonly #listeners = new PatternRegistry<ChannelListener>()
  readonly #authorizers = new Authorizers(error => this.log.error({ err: error }, 'an authorizer threw; access denied'))
  /** Channels already created, when a policy decides creation (canCreate); bounded. */
  readonly #created = new Set<string>()
  readonly #browserHolds = new Map<string, number>()
  #dirty = new Set<ServerSession>()
  #flushScheduled = false
  #started: Promise<void> | undefined
  #closing = false

  constructor (options: BayeuxOptions = {}) {
    super()
    const { engine, policy, extensions, ...plain } = options
    this.options = resolveOptions(plain)
    this.settings = this.options
    this.channels = new ChannelParser({ maxLength: this.options.maxChannelLength, maxDepth: this.options.maxChannelDepth })
    this.#engine = engine ?? new MemoryEngine()
    this.#policy = policy ?? {}
    if (this.options.timesync) this.addExtension(timesync)
    for (const extension of extensions ?? []) this.addExtension(extension)
  }

  /** Starts the engine; transports call it before serving. Idempotent. */
  start (): Promise<void> {
    return (this.#started ??= Promise.resolve(this.#engine.start({
      deliver: (sessionId, event) => {
        const session = this.#sessions.get(sessionId)
        if (session === undefined) return
        // Costs nothing until an authorizer exists; then wildcard subscribers are checked too.
        if (this.#authorizers.size > 0 && !this.#authorizers.allows('canSubscribe', session, this.channels.parse(event.channel)!)) return
        session.enqueue(event)
      }
    })))
  }

  get sessionCount (): number {
    return this.#sessions.size
  }

  getSession (id: string): ServerSession | undefined {
    return this.#sessions.get(id)
  }

  addExtension (extension: Extension): void {
    const hooks = HOOKS.filter(hook => extension[hook] !== undefined)
    if (hooks.length === 0 || hooks.some(hook => typeof extension[hook] !== 'function')) {
      throw new BayeuxServerError(ERR_INVALID_EXTENSION, `An extension needs at least one of ${HOOKS.join(', ')}, as functions`)
    }
    this.#extensions.add(extension)
  }

  removeExtension (extension: Extension): void {
    this.#extensions.remove(extension)
  }

  /** Listens to publishes on channels matching `pattern` (may end in `*` or `**`). */
  listen (pattern: string, listener: ChannelListener): () => void {
    return this.#listeners.add(this.#applicationPattern(pattern, 'listen to'), listener)
  }

  /**
   * Guards channels matching `pattern` (may end in `*` or `**`); returns a function
   * that removes the authorizer.
   */
  authorize (pattern: string, authorizer: Authorizer): () => void {
    return this.#authorizers.add(this.#applicationPattern(pattern, 'authorize'), authorizer)
  }

  /** A pattern application code registers on: valid, and never a meta channel. */
  #applicationPattern (pattern: string, verb: string): string {
    const parsed = this.channels.parse(pattern)
    if (parsed === null || parsed.kind === 'meta') {
      throw new BayeuxServerError(ERR_INVALID_CHANNEL, `Cannot ${verb} ${JSON.stringify(pattern)}`)
    }
    return parsed.name
  }

  /** Publishes from the server to every subscriber of `channel` (a concrete broadcast channel). */
  async publish (channel: string, data: unknown, ext?: Ext): Promise<void> {
    const parsed = this.channels.parse(channel)
    if (parsed === null || parsed.wild !== 0 || parsed.kind !== 'broadcast') {
      throw new BayeuxServerError(ERR_INVALID_CHANNEL, `Cannot publish to ${JSON.stringify(channel)}`)
    }
    await this.#broadcast({ channel, data, ...(ext !== undefined && { ext }) }, parsed, undefined, undefined)
  }

  /** True once close() was called: connects are answered at once, never held. */
  get closing (): boolean {
    return this.#closing
  }

  /**
   * Answers every held connect now, as if its timeout had passed, and stops timers.
   * Sessions are not ended: clients reconnect, and a restarted server (or another
   * node sharing the engine) tells them what to do.
   */
  async close (): Promise<void> {
    this.#closing = true
    for (const session of this.#sessions.values()) session.timedOut()
    this.holds.clear()
    this.expiries.clear()
    await this.#engine.close()
  }

  /**
   * Handles one transport payload (already parsed, non-empty). The answer goes
   * through `respond` exactly once, possibly later for a held connect. The returned
   * promise settles when processing is done, so a transport can keep a connection's
   * payloads in order without waiting for held connects.
   */
  async process (batch: readonly unknown[], link: Link, respond: Respond): Promise<void> {
    if (batch.length === 1) {
      // A lone message (most payloads: every held connect) answers straight through `respond`.
      const checked = checkMessage(batch[0])
      if (checked.ok) {
        // Other than a connect (answered when it is released), processing ends once the reply
        // is written, even by an async outgoing extension: a socket's payloads stay in order.
        const pending = checked.message.channel === META_CONNECT ? undefined : []
        await this.#handle(checked.message, link, respond, true, pending)
        if (pending !== undefined && pending.length > 0) await Promise.all(pending)
        return
      }
    }
    const events: Event[] = []
    // One slot per message keeps replies in request order (C01), even when an
    // async outgoing extension finishes one message's reply after the next one's.
    const slots: Reply[][] = []
    const collectInto = (slot: number): Respond => (e, r) => {
      events.push(...e)
      slots[slot] = r.slice()
    }
    // Outgoing extensions may be async: the batch's one response waits for them.
    const pending: Promise<void>[] = []
    let invalid = 0
    for (let i = 0; i < batch.length; i++) {
      const checked = checkMessage(batch[i])
      if (!checked.ok) {
        invalid++
        slots[i] = [{ ...(checked.channel !== undefined && { channel: checked.channel }), id: checked.id, successful: false, error: checked.error } as Reply]
        continue
      }
      const message = checked.message
      if (message.channel === META_HANDSHAKE && batch.length > 1) {
        // Clients never batch a handshake; answer it alone and ignore the rest (C12, A11).
        slots.length = 0
        events.length = 0
        await this.#handle(message, link, collectInto(0), false, pending)
        break
      }
      await this.#handle(message, link, collectInto(i), false, pending)
    }
    if (invalid > 0) this.badInput(link, 'invalid message', { invalid, total: batch.length })
    if (pending.length > 0) await Promise.all(pending)
    respond(events, slots.flat())
  }

  /** Logs bad input once per payload at warn, and tells diagnostics subscribers. */
  badInput (source: InputSource, reason: string, detail: object = {}): void {
    this.log.warn({ transport: source.transport, remoteAddress: source.remoteAddress, ...detail }, `bad input: ${reason}`)
    if (diagnostics.badInput.hasSubscribers) diagnostics.badInput.publish({ transport: source.transport, reason, ...detail })
  }

  // SessionHost

  scheduleFlush (session: ServerSession): void {
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

  overflowed (session: ServerSession, dropped: number): void {
    this.log.warn({ clientId: session.id, dropped }, 'session queue full: dropped oldest events')
    this.#notify('overflow', session, dropped)
  }

  remove (session: ServerSession, reason: EndReason): void {
    if (!this.#sessions.delete(session.id)) return
    session.end(reason)
    if (reason === 'overflow') this.log.warn({ clientId: session.id }, 'session queue full: session ended')
    this.#settle(this.#engine.destroySession(session.id), 'destroySession')
    if (diagnostics.sessionDestroy.hasSubscribers) diagnostics.sessionDestroy.publish({ session, reason })
    this.#notify('disconnect', session, reason)
  }

  // Message handling

  readonly #flushAll = (): void => {
    this.#flushScheduled = false
    const dirty = this.#dirty
    this.#dirty = new Set()
    for (const session of dirty) this.#shield('flushing a session', () => session.flush())
  }

  async #handle (message: Message, link: Link, respond: Respond, alone: boolean, pending: Promise<void>[] | undefined): Promise<void> {
    const session = message.channel === META_HANDSHAKE ? undefined : this.#findSession(message, link)
    respond = this.#outgoingReplies(respond, message, session, pending)
    try {
      let accepted = this.#extensions.incoming(message, session)
      if (accepted instanceof Promise) accepted = await accepted
      if (accepted === null) {
        respond([], [fail(message, errors.MESSAGE_DELETED)])
        return
      }
      message = accepted
      if (message.channel === META_HANDSHAKE) {
        respond([], [await this.#handshake(message, link)])
        return
      }
      if (session === undefined) {
        respond([], [this.#unknownSession(message)])
        return
      }
      if (message.channel === META_CONNECT) {
        session.connect(message, link, respond, alone)
        return
      }
      session.touch()
      respond([], await this.#dispatch(message, session))
    } catch (error) {
      this.log.error({ err: error, channel: message.channel }, 'failed to handle a message')
      respond([], [fail(message, errors.SERVER_ERROR)])
    }
  }

  /** The session a message belongs to, if the link may speak for it (BAYEUX.md §5.9). */
  #findSession (message: Message, link: Link): ServerSession | undefined {
    const id = message.clientId
    if (id === undefined) return undefined
    const session = this.#sessions.get(id)
    if (session === undefined) return undefined
    const trusted = this.options.trustClientSession
    if (!link.persistent) {
      // Over HTTP a clientId counts only with the cookie it was issued with (C100).
      return trusted || (session.browserId !== undefined && session.browserId === link.browserId) ? session : undefined
    }
    if (session.link === link) return session
    // A new socket resumes a session by clientId (C90, BAYEUX.md §5.4), but never takes
    // over one whose socket is open, nor an HTTP session when the upgrade carried another
    // browser's cookie. An upgrade without the cookie may resume: Faye's Node client opens
    // its socket while its HTTP handshake is in flight, before it has the cookie.
    if (this.options.requireHandshakePerConnection) return undefined
    if (!trusted && link.browserId !== undefined && session.browserId !== undefined && session.browserId !== link.browserId) return undefined
    if (session.link !== undefined && !session.link.closed) return undefined
    session.bind(link)
    return session
  }

  async #handshake (message: Message, link: Link): Promise<Reply> {
    if (this.#sessions.size >= this.options.maxSessions) {
      this.log.warn({ sessions: this.#sessions.size }, 'handshake refused: too many sessions')
      return { ...fail(message, errors.TOO_MANY_SESSIONS), advice: { reconnect: 'handshake', interval: this.options.multiSessionInterval } }
    }
    if (!link.persistent && link.browserId === undefined && link.assignBrowserId !== undefined) link.assignBrowserId()
    const ack = this.options.ack && message.ext?.['ack'] === true
    const session = new ServerSession(this, randomBytes(20).toString('hex'), link, ack)
    if (this.#policy.canHandshake !== undefined && !(await this.#policy.canHandshake(session, message, link))) {
      return { ...fail(message, errors.HANDSHAKE_DENIED), advice: { reconnect: 'none' } }
    }
    this.#sessions.set(session.id, session)
    session.open(link)
    await this.#engine.createSession(session.id)
    if (diagnostics.sessionCreate.hasSubscribers) diagnostics.sessionCreate.publish({ session })
    this.#notify('handshake', session)
    return {
      id: message.id,
      channel: META_HANDSHAKE,
      successful: true,
      clientId: session.id,
      version: '1.0',
      minimumVersion: '1.0',
      supportedConnectionTypes: [...this.options.transports],
      advice: { reconnect: 'retry', interval: this.options.interval, timeout: this.options.timeout },
      ...(ack && { ext: { ack: true } })
    }
  }

  #unknownSession (message: Message): Reply {
    // Subscribe replies echo `subscription` even when failing (C41): the JS client finds its listeners by it.
    const subscribing = message.channel === META_SUBSCRIBE || message.channel === META_UNSUBSCRIBE
    const reply = { ...(subscribing ? withSubscription(message) : ok(message)), successful: false, error: errors.SESSION_UNKNOWN }
    // Only handshake and connect replies may carry reconnect:"handshake" (C26, C47, BAYEUX.md §4.4).
    if (message.channel === META_CONNECT) reply.advice = { reconnect: 'handshake', interval: 0 }
    return reply
  }

  async #dispatch (message: Message, session: ServerSession): Promise<Reply[]> {
    switch (message.channel) {
      case META_SUBSCRIBE: return [await this.#subscribe(message, session)]
      case META_UNSUBSCRIBE: return [await this.#unsubscribe(message, session)]
      case META_DISCONNECT:
        this.remove(session, 'client')
        return [ok(message)]
      default: return this.#publishFrom(message, session)
    }
  }

  async #subscribe (message: Message, session: ServerSession): Promise<Reply> {
    const reply = withSubscription(message)
    const parsed = this.#subscriptionChannels(message)
    if (typeof parsed === 'string') return { ...reply, successful: false, error: parsed }
    for (const channel of parsed) {
      if (channel.kind === 'meta') return { ...reply, successful: false, error: errors.denied('subscribe_denied') }
      // Service channels: the client only wants its local listener to see direct replies (C44).
      if (channel.kind === 'service' || session.subscriptions.has(channel.name)) continue
      if (session.subscriptions.size >= this.options.maxSubscriptionsPerSession) {
        return { ...reply, successful: false, error: errors.TOO_MANY_SUBSCRIPTIONS }
      }
      if (!(await this.#mayCreate(session, channel, message))) {
        return { ...reply, successful: false, error: errors.denied('create_denied') }
      }
      if (this.#policy.canSubscribe !== undefined && !(await this.#policy.canSubscribe(session, channel.name, message))) {
        return { ...reply, successful: false, error: errors.denied('subscribe_denied') }
      }
      if (!this.#authorizers.allows('canSubscribe', session, channel)) {
        return { ...reply, successful: false, error: errors.denied('subscribe_denied', AUTHORIZER_DENIAL) }
      }
      if (session.ended) return { ...reply, successful: false, error: errors.SUBSCRIBE_FAILED }
      session.subscriptions.add(channel.name)
      await this.#engine.subscribe(session.id, channel.name)
      this.#notify('subscribe', session, channel.name)
    }
    return reply
  }

  async #unsubscribe (message: Message, session: ServerSession): Promise<Reply> {
    const reply = withSubscription(message)
    const parsed = this.#subscriptionChannels(message)
    if (typeof parsed === 'string') return { ...reply, successful: false, error: parsed }
    for (const channel of parsed) {
      if (channel.kind === 'meta') return { ...reply, successful: false, error: errors.UNSUBSCRIBE_FAILED }
      // Unknown or never-subscribed channels succeed: the outcome is the same (C50, A21).
      if (!session.subscriptions.delete(channel.name)) continue
      await this.#engine.unsubscribe(session.id, channel.name)
      this.#notify('unsubscribe', session, channel.name)
    }
    return reply
  }

  /** The parsed channels of `subscription`, or the error for the whole request (C46, C52). */
  #subscriptionChannels (message: Message): ChannelName[] | string {
    const subscription = message.subscription
    if (subscription === undefined) return errors.SUBSCRIPTION_MISSING
    const names = typeof subscription === 'string' ? [subscription] : subscription
    if (names.length > this.options.maxSubscriptionsPerSession) return errors.TOO_MANY_SUBSCRIPTIONS
    const channels: ChannelName[] = []
    for (const name of names) {
      const channel = this.channels.parse(name)
      if (channel === null) return errors.SUBSCRIPTION_INVALID
      channels.push(channel)
    }
    return channels
  }

  async #publishFrom (message: Message, session: ServerSession): Promise<Reply[]> {
    const channel = this.channels.parse(message.channel)
    if (channel === null) return [fail(message, errors.CHANNEL_INVALID)]
    if (channel.kind === 'meta') return [fail(message, errors.denied('publish_denied'))]
    if (channel.wild !== 0) return [fail(message, errors.publishInvalid(message.channel))]
    // An event without data is invisible to every client (C68, A7).
    if (message.data === undefined) return [fail(message, errors.DATA_MISSING)]
    if (!session.mayPublish()) {
      this.log.warn({ clientId: session.id, channel: message.channel }, 'publish refused: rate limit')
      return [fail(message, errors.RATE_LIMITED)]
    }
    if (!(await this.#mayCreate(session, channel, message))) {
      return [fail(message, errors.denied('channel_create_denied'))]
    }
    if (this.#policy.canPublish !== undefined && !(await this.#policy.canPublish(session, channel.name, message))) {
      return [fail(message, errors.denied('publish_denied'))]
    }
    if (!this.#authorizers.allows('canPublish', session, channel)) {
      return [fail(message, errors.denied('publish_denied', AUTHORIZER_DENIAL))]
    }
    const event: EventMessage = { channel: channel.name, data: message.data, ...(message.ext !== undefined && { ext: message.ext }) }
    if (channel.kind === 'service') return this.#callService(event, channel, session, message)
    const delivered = await this.#broadcast(event, channel, session, message)
    return [delivered ? ok(message) : fail(message, errors.MESSAGE_DELETED)]
  }

  /** Fans an event out; false when an extension dropped it. */
  async #broadcast (event: EventMessage, channel: ChannelName, session: ServerSession | undefined, request: Message | undefined): Promise<boolean> {
    let outgoing = this.#extensions.outgoing(event, undefined, request)
    if (outgoing instanceof Promise) outgoing = await outgoing
    if (outgoing === null) return false
    const serialized = Event.of(outgoing)
    if (this.#listeners.size > 0) {
      // Listeners of broadcast channels only observe: one that fails must not stop delivery.
      for (const listener of this.#listeners.for(channel)) {
        try {
          await listener(outgoing, session)
        } catch (error) {
          this.log.error({ err: error, channel: channel.name }, 'a channel listener failed')
        }
      }
    }
    if (diagnostics.publish.hasSubscribers) diagnostics.publish.publish({ message: outgoing, session })
    this.#notify('publish', outgoing, session)
    await this.#engine.publish(serialized, channel.expansion)
    return true
  }

  /** A publish on a /service/ channel: acked, never broadcast, answered by listeners (C65, C66). */
  async #callService (event: EventMessage, channel: ChannelName, session: ServerSession, request: Message): Promise<Reply[]> {
    this.#notify('publish', event, session)
    const replies = [ok(request)]
    for (const listener of this.#listeners.for(channel)) {
      const answer = await listener(event, session)
      // The ack (no data) clears the client's per-id timer; the answer resolves its remoteCall.
      if (answer === undefined) continue
      // An answer that cannot become JSON fails this call here, not the whole response later.
      JSON.stringify(answer)
      replies.push({ id: request.id, channel: channel.name, successful: true, data: answer })
    }
    return replies
  }

  /** Asks the policy's canCreate the first time a channel is used (BAYEUX.md §7.4). */
  async #mayCreate (session: ServerSession, channel: ChannelName, message: Message): Promise<boolean> {
    const canCreate = this.#policy.canCreate
    if (canCreate === undefined || this.#created.has(channel.name)) return true
    if (!(await canCreate.call(this.#policy, session, channel.name, message))) return false
    // A flood of distinct names must not grow memory: forgetting only means asking again.
    if (this.#created.size >= MAX_REMEMBERED_CHANNELS) this.#created.clear()
    this.#created.add(channel.name)
    return true
  }

  /** Tells event listeners; one that throws is logged and cannot break the server's work. */
  #notify<K extends keyof BayeuxEvents> (event: K, ...args: BayeuxEvents[K]): void {
    if (this.listenerCount(event) === 0) return
    this.#shield(`a '${event}' listener`, () => (this.emit as (event: K, ...args: BayeuxEvents[K]) => boolean)(event, ...args))
  }

  /** Runs `work`, logging instead of throwing: for code called from timers and events. */
  #shield (what: string, work: () => unknown): void {
    try {
      work()
    } catch (error) {
      this.log.error({ err: error }, `${what} failed`)
    }
  }


  /**
   * Runs outgoing extensions (when there are any) on replies before they are written.
   * Where the caller is collecting a batch's response, it waits on `pending`.
   */
  #outgoingReplies (respond: Respond, request: Message, session: ServerSession | undefined, pending: Promise<void>[] | undefined): Respond {
    if (!this.#extensions.hasOutgoing) return respond
    return (events, replies) => {
      let out: Array<Hooked<Reply>>
      try {
        out = replies.map(reply => this.#extensions.outgoing(reply, session, request))
      } catch (error) {
        this.#writeUnextended(error, respond, events, replies)
        return
      }
      if (!out.some(reply => reply instanceof Promise)) {
        respond(events, (out as Array<Reply | null>).filter(reply => reply !== null))
        return
      }
      const written = Promise.all(out).then(
        resolved => respond(events, resolved.filter(reply => reply !== null)),
        error => this.#writeUnextended(error, respond, events, replies)
      )
      pending?.push(written)
    }
  }

  /** A failing outgoing extension must not lose the reply: it goes out as it was. */
  #writeUnextended (error: unknown, respond: Respond, events: readonly Event[], replies: readonly Reply[]): void {
    this.log.error({ err: error }, 'an outgoing extension failed')
    respond(events, replies)
  }

  #settle (result: unknown, operation: string): void {
    if (result instanceof Promise) result.catch(error => this.log.error({ err: error, operation }, 'engine operation failed'))
  }
}

function ok (message: Message): Reply {
  return { id: message.id, channel: message.channel, successful: true }
}

function fail (message: Message, error: string): Reply {
  return { id: message.id, channel: message.channel, successful: false, error }
}

function withSubscription (message: Message): Reply {
  return { ...ok(message), ...(message.subscription !== undefined && { subscription: message.subscription }) }
}
