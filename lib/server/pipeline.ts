import { performance } from 'node:perf_hooks'
import * as diagnostics from '../diagnostics.ts'
import { META_CONNECT, META_HANDSHAKE, META_SUBSCRIBE } from '../protocol/message.ts'
import type { Message, Reply } from '../protocol/message.ts'
import type { OutgoingEvent } from '../protocol/outgoing-event.ts'
import { checkMessage } from '../protocol/validation.ts'
import * as errors from '../protocol/wire-errors.ts'
import type { ExtensionChain, Hooked } from './extensions.ts'
import { fail } from './handlers.ts'
import type { MessageHandlers } from './handlers.ts'
import type { Link, Respond } from './link.ts'
import type { Reporter } from './reporter.ts'
import type { ConnectPayload, Session } from './session.ts'
import type { SessionRegistry } from './session-registry.ts'
import { answerTimesync, timesyncOf } from './timesync.ts'
import type { TimesyncRequest } from './timesync.ts'

/** ms a client waits before retrying a connect or handshake that failed because the engine was unavailable. */
const ENGINE_RETRY = 1000

/** Replies whose outgoing extensions are still running, for a response that waits on them. */
type Pending = Promise<void>[]

/**
 * The way from a transport payload to its answer: validation, incoming extensions,
 * finding the session, the handler, outgoing extensions on replies, and replies in
 * request order (C01) in one response.
 */
export class MessagePipeline {
  readonly #registry: SessionRegistry
  readonly #handlers: MessageHandlers
  readonly #extensions: ExtensionChain
  readonly #reporter: Reporter
  /** The server keeps history: a subscribe asking for a replay takes its session over, as a connect does. */
  readonly #replays: boolean
  /** Meta replies answer the timesync extension (the timesync option). */
  readonly #timesync: boolean

  constructor (registry: SessionRegistry, handlers: MessageHandlers, extensions: ExtensionChain, reporter: Reporter, { replays, timesync }: { replays: boolean, timesync: boolean }) {
    this.#registry = registry
    this.#handlers = handlers
    this.#extensions = extensions
    this.#reporter = reporter
    this.#replays = replays
    this.#timesync = timesync
  }

  /**
   * Handles one transport payload (already parsed, non-empty). The answer goes
   * through `respond` exactly once, possibly later for a held connect. The returned
   * promise settles when processing is done, so a transport can keep a connection's
   * payloads in order without waiting for held connects; there is none when it is done
   * already (a lone connect, most of all traffic, see #processAlone).
   */
  process (batch: readonly unknown[], link: Link, respond: Respond): Promise<void> | undefined {
    try {
      if (diagnostics.reply.hasSubscribers) respond = this.#observedReplies(respond, link)
      // Clients never batch a handshake: one that is batched is answered alone and the
      // rest ignored, before any of it runs (C12, A11).
      const handshake = batch.length > 1 ? batch.find(isHandshake) : undefined
      const alone = batch.length === 1 ? batch[0] : handshake
      if (alone !== undefined) {
        const checked = checkMessage(alone)
        if (checked.ok) return this.#processAlone(checked.message, link, respond)
      }
      return this.#processBatch(batch, link, respond)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  async #processBatch (batch: readonly unknown[], link: Link, respond: Respond): Promise<void> {
    const events: OutgoingEvent[] = []
    // One slot per message keeps replies in request order (C01), even when an
    // async outgoing extension finishes one message's reply after the next one's.
    const slots: Reply[][] = []
    const collectInto = (slot: number): Respond => (e, r) => {
      events.push(...e)
      slots[slot] = r.slice()
    }
    // Outgoing extensions may be async: the batch's one response waits for them.
    const pending: Pending = []
    let invalid = 0
    for (let i = 0; i < batch.length; i++) {
      const checked = checkMessage(batch[i])
      if (!checked.ok) {
        invalid++
        slots[i] = [{ ...(checked.channel !== undefined && { channel: checked.channel }), id: checked.id, successful: false, error: checked.error } as Reply]
        continue
      }
      await this.#handle(checked.message, link, collectInto(i), { connect: 'batched', pending })
    }
    if (invalid > 0) this.#reporter.badInput(link, 'invalid_message', 'invalid message', { invalid, total: batch.length })
    if (pending.length > 0) await Promise.all(pending)
    respond(events, slots.flat())
  }

  /**
   * A lone valid message (most payloads: every held connect) answers straight through
   * `respond`. A connect of a session found here, with no incoming extension and no
   * diagnostics subscriber to wait for, is handled without a promise: per exchange,
   * the async layers cost more than the rest of the pipeline.
   */
  #processAlone (message: Message, link: Link, respond: Respond): Promise<void> | undefined {
    // Processing ends once the reply is written, even by an async outgoing extension, so
    // that a socket's payloads stay in order; a held connect ends it once held, since
    // its reply is not pending until it is released.
    const pending: Pending = []
    const found = this.#lookup(message, link)
    if (message.channel === META_CONNECT && found !== undefined && !(found instanceof Promise) && !this.#extensions.hasIncoming && !diagnostics.message.hasSubscribers) {
      this.#connect(message, found, link, this.#outgoingReplies(respond, message, found, pending), 'alone')
      return pending.length > 0 ? this.#settled(undefined, pending) : undefined
    }
    return this.#settled(this.#handle(message, link, respond, { connect: 'alone', pending }, found), pending)
  }

  async #settled (handling: Promise<void> | undefined, pending: Pending): Promise<void> {
    await handling
    if (pending.length > 0) await Promise.all(pending)
  }

  /** `found`: the session the message names, when looked up already (#lookup). */
  async #handle (message: Message, link: Link, respond: Respond, { connect, pending }: { connect: ConnectPayload, pending: Pending }, found = this.#lookup(message, link)): Promise<void> {
    const arrived = diagnostics.message.hasSubscribers ? performance.now() : undefined
    let session: Session | undefined
    /** The clientId a handshake created, for the diagnostics event. */
    let created: string | undefined
    try {
      session = found instanceof Promise ? await found : found
    } catch (error) {
      respond([], [this.#failure(message, error)])
      return
    }
    respond = this.#outgoingReplies(respond, message, session, pending)
    try {
      let accepted = this.#extensions.incoming(message, session)
      if (accepted instanceof Promise) accepted = await accepted
      if (accepted === null) {
        respond([], [fail(message, errors.MESSAGE_DELETED)])
        return
      }
      message = accepted
      // An application's incoming extension may have added ext.replay: a visitor view
      // cannot hold the replay's live events back, so the session moves here after all.
      if (session?.visitor === true && this.#asksReplay(message)) session = await this.#find(message, link, true)
      if (message.channel === META_HANDSHAKE) {
        const reply = await this.#handlers.handshake(message, link)
        created = reply.clientId
        respond([], [reply])
        return
      }
      if (session === undefined) {
        respond([], [this.#handlers.unknownSession(message)])
        return
      }
      if (message.channel === META_CONNECT) {
        this.#connect(message, session, link, respond, connect)
        return
      }
      session.touch()
      respond([], await this.#handlers.dispatch(message, session))
    } catch (error) {
      respond([], [this.#failure(message, error)])
    } finally {
      if (arrived !== undefined) {
        diagnostics.message.publish({
          server: this.#reporter.server,
          message,
          transport: link.transport,
          session: session ?? (created === undefined ? undefined : this.#registry.get(created)),
          duration: performance.now() - arrived
        })
      }
    }
  }

  #connect (message: Message, session: Session, link: Link, respond: Respond, payload: ConnectPayload): void {
    const before = session.transport
    try {
      session.connect(message, link, respond, payload)
    } catch (error) {
      respond([], [this.#failure(message, error)])
      return
    }
    if (before !== link.transport) this.#reporter.log.debug({ clientId: session.id, from: before, to: link.transport }, 'session connects over a new transport')
  }

  /** A subscribe that replays history takes its session over, as a connect does. */
  #asksReplay (message: Message): boolean {
    return this.#replays && message.channel === META_SUBSCRIBE && message.ext?.['replay'] !== undefined
  }

  /**
   * The session `message` names (none for a handshake). A replay comes here, where its
   * live events then wait for it (docs/replay.md).
   */
  #lookup (message: Message, link: Link): Session | undefined | Promise<Session | undefined> {
    if (message.channel === META_HANDSHAKE) return undefined
    return this.#find(message, link, message.channel === META_CONNECT || this.#asksReplay(message))
  }

  /**
   * The session `message` names: a promise only when another node holds it (a multi-node
   * engine), so that most lookups cost no tick; a failed one is a rejected promise.
   */
  #find (message: Message, link: Link, takesOver: boolean): Session | undefined | Promise<Session | undefined> {
    try {
      return this.#registry.find(message.clientId, link, takesOver ? message : undefined)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * The reply to a message whose handling threw. An engine outage is logged once, by
   * the engine's status, and the client is told to retry later.
   */
  #failure (message: Message, error: unknown): Reply {
    if ((error as { code?: unknown })?.code === 'BAYEUX_ERR_ENGINE_UNAVAILABLE') {
      const reply = fail(message, errors.ENGINE_UNAVAILABLE)
      if (message.channel === META_CONNECT || message.channel === META_HANDSHAKE) reply.advice = { reconnect: 'retry', interval: ENGINE_RETRY }
      return reply
    }
    this.#reporter.log.error({ err: error, channel: message.channel }, 'failed to handle a message')
    return fail(message, errors.SERVER_ERROR)
  }

  /** Tells diagnostics subscribers of every reply `respond` writes. */
  #observedReplies (respond: Respond, link: Link): Respond {
    const server = this.#reporter.server
    return (events, replies) => {
      if (diagnostics.reply.hasSubscribers) diagnostics.reply.publish({ server, transport: link.transport, replies })
      respond(events, replies)
    }
  }

  /**
   * Runs outgoing extensions (when there are any), then timesync (when the request asks
   * for it), on replies before they are written. A held connect keeps what this returns:
   * the request only for applications' extensions, which may read it; of timesync only
   * the numbers its answer needs.
   */
  #outgoingReplies (respond: Respond, request: Message, session: Session | undefined, pending: Pending): Respond {
    const timesync = this.#timesync ? timesyncOf(request) : undefined
    if (this.#extensions.hasOutgoing) return this.#extendedReplies(respond, request, session, pending, timesync)
    if (timesync === undefined) return respond
    return (events, replies) => writeTimesynced(respond, events, replies, timesync)
  }

  /** Where the caller is collecting a batch's response, it waits on `pending`. */
  #extendedReplies (respond: Respond, request: Message, session: Session | undefined, pending: Pending, timesync: TimesyncRequest | undefined): Respond {
    return (events, replies) => {
      let out: Array<Hooked<Reply>>
      try {
        out = replies.map(reply => this.#extensions.outgoing(reply, session, request))
      } catch (error) {
        this.#writeUnextended(error, respond, events, replies)
        return
      }
      if (!out.some(reply => reply instanceof Promise)) {
        writeTimesynced(respond, events, (out as Array<Reply | null>).filter(reply => reply !== null), timesync)
        return
      }
      const written = Promise.all(out).then(
        resolved => writeTimesynced(respond, events, resolved.filter(reply => reply !== null), timesync),
        error => this.#writeUnextended(error, respond, events, replies)
      )
      pending.push(written)
    }
  }

  /** A failing outgoing extension must not lose the reply: it goes out as it was. */
  #writeUnextended (error: unknown, respond: Respond, events: readonly OutgoingEvent[], replies: readonly Reply[]): void {
    this.#reporter.log.error({ err: error }, 'an outgoing extension failed')
    respond(events, replies)
  }
}

/** Writes `replies`, each answering the request's timesync when it asked for one. */
function writeTimesynced (respond: Respond, events: readonly OutgoingEvent[], replies: readonly Reply[], timesync: TimesyncRequest | undefined): void {
  if (timesync !== undefined) for (const reply of replies) answerTimesync(reply, timesync)
  respond(events, replies)
}

function isHandshake (value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { channel?: unknown }).channel === META_HANDSHAKE
}
