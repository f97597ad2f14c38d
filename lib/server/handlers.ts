import * as diagnostics from '../diagnostics.ts'
import type { Engine } from '../engines/engine.ts'
import type { ResolvedOptions } from '../options.ts'
import type { ChannelParser, ParsedChannel } from '../protocol/channel.ts'
import { META_CONNECT, META_DISCONNECT, META_HANDSHAKE, META_SUBSCRIBE, META_UNSUBSCRIBE } from '../protocol/message.ts'
import type { EventMessage, Message, Reply } from '../protocol/message.ts'
import type { OutgoingEvent } from '../protocol/outgoing-event.ts'
import * as errors from '../protocol/wire-errors.ts'
import type { AccessChain } from './access.ts'
import { drainInterval } from './drain.ts'
import type { HistoryPolicy } from './history.ts'
import type { Link } from './link.ts'
import type { Publisher } from './publisher.ts'
import { ReplayRefusal, replayMap, replayStart } from './replay.ts'
import type { Reporter } from './reporter.ts'
import type { SecurityPolicy } from './security.ts'
import type { Session } from './session.ts'
import type { SessionRegistry } from './session-registry.ts'

export type HandlerOptions = Pick<ResolvedOptions,
  'transports' | 'maxSessions' | 'maxSubscriptionsPerSession' | 'multiSessionInterval' | 'interval' | 'timeout' | 'ack'>

/** The parts of the core the handlers work with. */
export interface HandlerParts {
  readonly options: HandlerOptions
  readonly registry: SessionRegistry
  readonly engine: Engine
  /** Undefined when no channel keeps history: the replay extension is not offered. */
  readonly history: HistoryPolicy | undefined
  readonly access: AccessChain
  readonly publisher: Publisher
  readonly channels: ChannelParser
  readonly policy: SecurityPolicy
  readonly reporter: Reporter
}

/**
 * What each kind of message does once its session is known (docs/protocol.md §3): the
 * handshake, subscribe, unsubscribe, disconnect and publish. Connects are the
 * session's own business (Session.connect).
 */
export class MessageHandlers {
  readonly #parts: HandlerParts
  readonly #offered: ReadonlySet<string>

  constructor (parts: HandlerParts) {
    this.#parts = parts
    this.#offered = new Set(parts.options.transports)
  }

  async handshake (message: Message, link: Link): Promise<Reply> {
    const { options, registry, policy, engine, reporter, history } = this.#parts
    if (registry.draining) {
      // Shutting down: handshake again later, each client after its own pause (lib/server/drain.ts).
      return { ...fail(message, errors.SERVER_DRAINING), advice: { reconnect: 'handshake', interval: drainInterval() } }
    }
    const asked = message.supportedConnectionTypes
    if (asked !== undefined && !asked.some(type => this.#offered.has(type))) {
      // Nothing the client can speak is offered: retrying would fail the same way.
      return { ...fail(message, errors.connectionTypesUnsupported(options.transports)), supportedConnectionTypes: [...options.transports], advice: { reconnect: 'none' } }
    }
    // Per cluster with a multi-node engine: the other nodes' count is at most one heartbeat old.
    const sessions = registry.size + (engine.sessionsElsewhere?.() ?? 0)
    if (sessions >= options.maxSessions) {
      reporter.log.warn({ sessions }, 'handshake refused: too many sessions')
      return { ...fail(message, errors.TOO_MANY_SESSIONS), advice: { reconnect: 'handshake', interval: options.multiSessionInterval } }
    }
    if (link.kind === 'request' && link.browserId === undefined) link.assignBrowserId()
    const ack = options.ack && message.ext?.['ack'] === true
    const session = registry.create(link, { ack })
    if (policy.canHandshake !== undefined && !(await policy.canHandshake(session, message, link))) {
      return { ...fail(message, errors.HANDSHAKE_DENIED), advice: { reconnect: 'none' } }
    }
    registry.add(session, link)
    if (diagnostics.sessionCreate.hasSubscribers) diagnostics.sessionCreate.publish({ session })
    reporter.notify('handshake', session)
    // After the listeners: attributes they set travel with the record to every node.
    try {
      await engine.createSession(session.id, registry.recordOf(session))
    } catch (error) {
      registry.remove(session, 'server')
      throw error
    }
    return {
      id: message.id,
      channel: META_HANDSHAKE,
      successful: true,
      clientId: session.id,
      version: '1.0',
      minimumVersion: '1.0',
      supportedConnectionTypes: [...options.transports],
      advice: { reconnect: 'retry', interval: options.interval, timeout: options.timeout },
      // Replay clients resume only when the handshake says the server keeps history.
      ...((ack || history !== undefined) && { ext: { ...(ack && { ack: true }), ...(history !== undefined && { replay: true }) } })
    }
  }

  /** The answer to a message whose clientId names no session this link may use. */
  unknownSession (message: Message): Reply {
    // Subscribe replies echo `subscription` even when failing (C41): the JS client finds its listeners by it.
    const subscribing = message.channel === META_SUBSCRIBE || message.channel === META_UNSUBSCRIBE
    const reply = { ...(subscribing ? withSubscription(message) : ok(message)), successful: false, error: errors.SESSION_UNKNOWN }
    // Only handshake and connect replies may carry reconnect:"handshake" (C26, C47, docs/protocol.md §4.4).
    if (message.channel === META_CONNECT) reply.advice = { reconnect: 'handshake', interval: 0 }
    return reply
  }

  /** Subscribe, unsubscribe, disconnect or publish, for a known session. */
  async dispatch (message: Message, session: Session): Promise<Reply[]> {
    switch (message.channel) {
      case META_SUBSCRIBE: return [await this.#subscribe(message, session)]
      case META_UNSUBSCRIBE: return [await this.#unsubscribe(message, session)]
      case META_DISCONNECT:
        this.#parts.registry.remove(session, 'client')
        return [ok(message)]
      default: return this.#publish(message, session)
    }
  }

  async #subscribe (message: Message, session: Session): Promise<Reply> {
    const { options, access, engine, reporter, history } = this.#parts
    const reply = withSubscription(message)
    const parsed = this.#subscriptionChannels(message)
    if (typeof parsed === 'string') return { ...reply, successful: false, error: parsed }
    // The replay extension (docs/replay.md): only where the handshake offered it.
    const map = history === undefined ? undefined : replayMap(message, options.maxSubscriptionsPerSession)
    if (map instanceof ReplayRefusal) return this.#replayRefused(reply, session, map)
    for (const channel of parsed) {
      if (channel.kind === 'meta') return { ...reply, successful: false, error: errors.denied('subscribe_denied') }
      // Service channels: the client only wants its local listener to see direct replies (C44).
      if (channel.kind === 'service' || session.subscriptions.has(channel.name)) continue
      if (session.subscriptions.size >= options.maxSubscriptionsPerSession) {
        return { ...reply, successful: false, error: errors.TOO_MANY_SUBSCRIPTIONS }
      }
      const refused = await access.check('subscribe', session, channel, message)
      if (refused !== undefined) return { ...reply, successful: false, error: refused }
      if (session.ended) return { ...reply, successful: false, error: errors.SUBSCRIBE_FAILED }
      const start = history === undefined ? undefined : replayStart(map, channel.name)
      if (start instanceof ReplayRefusal) return this.#replayRefused(reply, session, start)
      // Ids are per channel: none names a place in a wildcard's many channels.
      if (start?.from === 'after' && (channel.wild !== 0 || history!.formOf(channel) === undefined)) {
        return { ...reply, successful: false, error: errors.replayIdInvalid(start.id) }
      }
      // Counted before the engine call, so that a concurrent subscribe cannot exceed the limit;
      // taken back if the engine fails (Redis away), so that a retry does it again.
      session.subscriptions.add(channel.name)
      if (start === undefined || start.from === 'new') {
        try {
          await engine.subscribe(session.id, channel.name)
        } catch (error) {
          session.subscriptions.delete(channel.name)
          throw error
        }
      } else {
        const after = start.from === 'after' ? start.id : undefined
        // Only a read after an id can be refused: all of a history is always whole.
        if (!(await this.#replay(session, channel, after))) return { ...reply, successful: false, error: errors.replayIdInvalid(after!) }
      }
      reporter.notify('subscribe', session, channel.name)
    }
    return reply
  }

  /**
   * Subscribes `session` to `channel` and replays its history after `after` (all of it
   * when undefined) before any live event (docs/replay.md, the seam): live events wait
   * from before the subscription until the replay is queued, which happens once the
   * subscribe reply is on its way, since some clients drop events of a channel whose
   * subscription they have not seen confirmed. False, and no subscription, when the
   * history cannot be replayed whole from `after`.
   */
  async #replay (session: Session, channel: ParsedChannel, after: number | undefined): Promise<boolean> {
    const { engine } = this.#parts
    let events: OutgoingEvent[] | undefined
    let subscribed = false
    session.holdLive()
    try {
      await engine.subscribe(session.id, channel.name)
      subscribed = true
      events = await engine.history(channel.name, after, Number.MAX_SAFE_INTEGER)
      if (events === undefined) await engine.unsubscribe(session.id, channel.name)
    } catch (error) {
      // Best effort: the engine that failed the read may fail this too.
      if (subscribed) await Promise.resolve(engine.unsubscribe(session.id, channel.name)).catch(() => {})
      this.#abandon(session, channel)
      throw error
    }
    if (events === undefined) {
      this.#abandon(session, channel)
      return false
    }
    // Authorizers leave out the channels of a wildcard the session may not receive, as in live delivery.
    const { access, channels } = this.#parts
    const replayed = channel.wild === 0 ? events : events.filter(event => access.mayReceive(session, channels.parse(event.channel)!))
    setImmediate(() => session.replayed(replayed))
    return true
  }

  /** A replaying subscribe failed: live events of that channel that waited go only where another subscription wants them. */
  #abandon (session: Session, channel: ParsedChannel): void {
    session.subscriptions.delete(channel.name)
    setImmediate(() => session.replayed([], stillSubscribed(session, this.#parts.channels)))
  }

  /** Bad input in `ext.replay`: the subscribe is refused, and reported as bad input from the session's client. */
  #replayRefused (reply: Reply, session: Session, refusal: ReplayRefusal): Reply {
    const source = { transport: session.transport ?? 'unknown', remoteAddress: session.remoteAddress }
    this.#parts.reporter.badInput(source, 'invalid_replay', `subscribe refused: ${refusal.warning}`, { clientId: session.id, subscription: reply.subscription })
    return { ...reply, successful: false, error: refusal.error }
  }

  async #unsubscribe (message: Message, session: Session): Promise<Reply> {
    const { engine, reporter } = this.#parts
    const reply = withSubscription(message)
    const parsed = this.#subscriptionChannels(message)
    if (typeof parsed === 'string') return { ...reply, successful: false, error: parsed }
    for (const channel of parsed) {
      if (channel.kind === 'meta') return { ...reply, successful: false, error: errors.UNSUBSCRIBE_FAILED }
      // Unknown or never-subscribed channels succeed: the outcome is the same (C50, A21).
      if (!session.subscriptions.delete(channel.name)) continue
      try {
        await engine.unsubscribe(session.id, channel.name)
      } catch (error) {
        session.subscriptions.add(channel.name)
        throw error
      }
      reporter.notify('unsubscribe', session, channel.name)
    }
    return reply
  }

  /** The parsed channels of `subscription`, or the error for the whole request (C46, C52). */
  #subscriptionChannels (message: Message): ParsedChannel[] | string {
    const subscription = message.subscription
    if (subscription === undefined) return errors.SUBSCRIPTION_MISSING
    const names = typeof subscription === 'string' ? [subscription] : subscription
    if (names.length > this.#parts.options.maxSubscriptionsPerSession) return errors.TOO_MANY_SUBSCRIPTIONS
    const channels: ParsedChannel[] = []
    for (const name of names) {
      const channel = this.#parts.channels.parse(name)
      if (channel === null) return errors.SUBSCRIPTION_INVALID
      channels.push(channel)
    }
    return channels
  }

  async #publish (message: Message, session: Session): Promise<Reply[]> {
    const { access, publisher, channels, reporter } = this.#parts
    const channel = channels.parse(message.channel)
    if (channel === null) return [fail(message, errors.CHANNEL_INVALID)]
    if (channel.kind === 'meta') return [fail(message, errors.denied('publish_denied'))]
    if (channel.wild !== 0) return [fail(message, errors.publishInvalid(message.channel))]
    // An event without data is invisible to every client (C68, A7).
    if (message.data === undefined) return [fail(message, errors.DATA_MISSING)]
    if (!session.mayPublish()) {
      reporter.log.warn({ clientId: session.id, channel: message.channel }, 'publish refused: rate limit')
      return [fail(message, errors.RATE_LIMITED)]
    }
    const refused = await access.check('publish', session, channel, message)
    if (refused !== undefined) return [fail(message, refused)]
    const event: EventMessage = { channel: channel.name, data: message.data, ...(message.ext !== undefined && { ext: message.ext }) }
    if (channel.kind === 'service') return publisher.callService(event, channel, session, message)
    const delivered = await publisher.broadcast(event, channel, session, message)
    return [delivered ? ok(message) : fail(message, errors.MESSAGE_DELETED)]
  }
}

/** Live events that waited for a replay whose subscribe failed: kept only where another subscription of `session` wants them. */
export function stillSubscribed (session: Session, channels: ChannelParser): (event: OutgoingEvent) => boolean {
  return event => channels.parse(event.channel)!.expansion.some(pattern => session.subscriptions.has(pattern))
}

export function ok (message: Message): Reply {
  return { id: message.id, channel: message.channel, successful: true }
}

export function fail (message: Message, error: string): Reply {
  return { id: message.id, channel: message.channel, successful: false, error }
}

function withSubscription (message: Message): Reply {
  return { ...ok(message), ...(message.subscription !== undefined && { subscription: message.subscription }) }
}
