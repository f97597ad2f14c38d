import type { EventEmitter } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import * as diagnostics from '../diagnostics.ts'
import type { BadInputReason, InputSource } from '../diagnostics.ts'
import { MemoryEngine } from '../engines/memory.ts'
import type { Engine } from '../engines/engine.ts'
import { BayeuxServerError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import { resolveOptions } from '../options.ts'
import type { Options, ResolvedOptions } from '../options.ts'
import { ChannelParser } from '../protocol/channel.ts'
import type { TransportHost } from '../transports/transport.ts'
import { AccessChain } from './access.ts'
import { Authorizers } from './authorizers.ts'
import type { DrainResult } from './drain.ts'
import type { BayeuxEvents } from './events.ts'
import { ExtensionChain } from './extensions.ts'
import type { Extension } from './extensions.ts'
import { MessageHandlers, stillSubscribed } from './handlers.ts'
import { HistoryPolicy } from './history.ts'
import type { Link, Respond } from './link.ts'
import { MessagePipeline } from './pipeline.ts'
import { Publisher } from './publisher.ts'
import { Reporter } from './reporter.ts'
import type { SecurityPolicy } from './security.ts'
import type { EndReason, Session } from './session.ts'
import { SessionRegistry } from './session-registry.ts'

/** ms between the rounds of a drain: how soon it notices that everything went out. */
const DRAIN_ROUND = 50

/** What embedders pass: any option, plus the pluggable parts. */
export interface BayeuxOptions extends Partial<Options> {
  /** Routing and session bookkeeping; default: a new MemoryEngine. */
  engine?: Engine
  /** Who may handshake, create channels, subscribe and publish; default: everyone. */
  policy?: SecurityPolicy
  /** Server-wide extensions, in order; more can be added with addExtension. */
  extensions?: Extension[]
}

/**
 * The protocol core behind a BayeuxServer: its parts, wired together. Transports
 * see it as a TransportHost; applications see only the BayeuxServer façade.
 */
export class ServerCore implements TransportHost {
  readonly options: ResolvedOptions
  readonly reporter: Reporter
  readonly channels: ChannelParser
  readonly engine: Engine
  /** Undefined when no channel keeps history. */
  readonly history: HistoryPolicy | undefined
  readonly extensions = new ExtensionChain()
  readonly authorizers: Authorizers
  readonly access: AccessChain
  readonly #policy: SecurityPolicy
  readonly publisher: Publisher
  readonly registry: SessionRegistry
  readonly pipeline: MessagePipeline
  #started: Promise<void> | undefined
  /** Payloads being processed (held connects excluded): a drain lets them finish. */
  #processing = 0
  #drained: Promise<DrainResult> | undefined
  #closed = false

  constructor (options: BayeuxOptions, events: EventEmitter<BayeuxEvents>) {
    const { engine, policy = {}, extensions = [], ...plain } = options
    this.options = resolveOptions(plain)
    this.reporter = new Reporter(events)
    this.channels = new ChannelParser({ maxLength: this.options.maxChannelLength, maxDepth: this.options.maxChannelDepth })
    this.history = HistoryPolicy.of(this.options, this.channels)
    this.engine = engine ?? new MemoryEngine()
    if (this.history !== undefined && typeof (this.engine as Partial<Engine>).history !== 'function') {
      // An engine written before history existed: refused now rather than at the first subscribe.
      throw new BayeuxServerError('BAYEUX_ERR_INVALID_OPTIONS', 'Invalid options: history needs an engine that keeps history (Engine.history)')
    }
    this.authorizers = new Authorizers(error => this.reporter.log.error({ err: error }, 'an authorizer threw; access denied'))
    this.#policy = policy
    this.access = new AccessChain(policy, this.authorizers)
    this.publisher = new Publisher(this.engine, this.extensions, this.reporter, this.history)
    this.registry = new SessionRegistry(this.options, this.reporter, this.engine, (session, reason) => this.#removed(session, reason))
    const handlers = new MessageHandlers({
      options: this.options,
      registry: this.registry,
      engine: this.engine,
      history: this.history,
      access: this.access,
      publisher: this.publisher,
      channels: this.channels,
      policy,
      reporter: this.reporter
    })
    this.pipeline = new MessagePipeline(this.registry, handlers, this.extensions, this.reporter, { replays: this.history !== undefined, timesync: this.options.timesync })
    for (const extension of extensions) this.addExtension(extension)
  }

  get log (): Logger {
    return this.reporter.log
  }

  /** Starts the engine; transports call it before serving. Idempotent. */
  start (): Promise<void> {
    const { registry, reporter } = this
    return (this.#started ??= Promise.resolve(this.engine.start({
      maxInterval: this.options.maxInterval,
      timeout: this.options.timeout,
      history: this.history?.limits,
      deliver: (sessionId, event) => {
        const session = registry.get(sessionId)
        if (session === undefined) return
        // Costs nothing until an authorizer exists; then wildcard subscribers are checked too.
        if (this.authorizers.size > 0 && !this.access.mayReceive(session, this.channels.parse(event.channel)!)) return
        session.enqueue(event)
      },
      release: sessionId => registry.release(sessionId),
      touch: sessionId => registry.get(sessionId)?.touch(),
      replayed: (sessionId, events, abandoned) => {
        const session = registry.get(sessionId)
        session?.replayed(events, abandoned ? stillSubscribed(session, this.channels) : undefined)
      },
      subscribed: (sessionId, pattern) => registry.get(sessionId)?.subscriptions.add(pattern),
      unsubscribed: (sessionId, pattern) => registry.get(sessionId)?.subscriptions.delete(pattern),
      endSession: (sessionId, reason) => {
        const session = registry.get(sessionId)
        if (session !== undefined) registry.remove(session, reason)
      },
      orphanEnded: (sessionId, session, reason) => this.#ended(registry.detached(sessionId, session), reason),
      statusChanged: (available, error) => reporter.engineStatus(available, error),
      destroysPending: pending => reporter.destroysPending(pending),
      warn: (message, error) => reporter.log.warn({ err: error }, message)
    })))
  }

  async close (): Promise<void> {
    this.#closed = true
    this.registry.close()
    await this.engine.close()
  }

  /** See BayeuxServer.drain; a second call gets the first one's result. */
  drain (timeout: number): Promise<DrainResult> {
    return (this.#drained ??= this.#drain(timeout))
  }

  async #drain (timeout: number): Promise<DrainResult> {
    const deadline = performance.now() + timeout
    for (;;) {
      const left = this.registry.drain()
      const complete = left.events === 0 && left.sockets === 0 && this.#processing === 0
      const remaining = deadline - performance.now()
      if (complete || remaining <= 0 || this.#closed) {
        if (!complete) {
          this.reporter.log.warn({ ...left, processing: this.#processing }, `drain cut short: ${left.events} queued events not delivered`)
        }
        return { complete, undelivered: { events: left.events, sessions: left.sessions } }
      }
      // Unref'd like the core's other timers: a drain never keeps a process alive by itself.
      await sleep(Math.min(DRAIN_ROUND, remaining), undefined, { ref: false })
    }
  }

  process (batch: readonly unknown[], link: Link, respond: Respond): Promise<void> | undefined {
    const processing = this.pipeline.process(batch, link, respond)
    if (processing === undefined) return undefined
    // Counted from here: nothing else runs before the synchronous part of it is over.
    this.#processing++
    return processing.finally(this.#processed)
  }

  readonly #processed = (): void => {
    this.#processing--
  }

  get readsHeaders (): boolean {
    return this.#policy.canHandshake !== undefined
  }

  badInput (source: InputSource, reason: BadInputReason, message: string, detail?: object): void {
    this.reporter.badInput(source, reason, message, detail)
  }

  addExtension (extension: Extension): void {
    if (!ExtensionChain.isExtension(extension)) {
      throw new BayeuxServerError('BAYEUX_ERR_INVALID_EXTENSION', `An extension needs at least one of ${ExtensionChain.HOOKS.join(', ')}, as functions`)
    }
    this.extensions.add(extension)
  }

  /** A pattern application code registers on: valid, and never a meta channel. */
  applicationPattern (pattern: string, verb: string): string {
    const parsed = this.channels.parse(pattern)
    if (parsed === null || parsed.kind === 'meta') {
      throw new BayeuxServerError('BAYEUX_ERR_INVALID_CHANNEL', `Cannot ${verb} ${JSON.stringify(pattern)}`)
    }
    return parsed.name
  }

  #removed (session: Session, reason: EndReason): void {
    if (reason === 'overflow') this.reporter.log.warn({ clientId: session.id }, 'session queue full: session ended')
    this.reporter.settle(this.engine.destroySession(session.id), 'destroySession')
    this.#ended(session, reason)
  }

  /** Tells diagnostics and the application that a session ended, once in the cluster. */
  #ended (session: Session, reason: EndReason): void {
    if (diagnostics.sessionDestroy.hasSubscribers) diagnostics.sessionDestroy.publish({ server: this.reporter.server, session, reason })
    this.reporter.notify('disconnect', session, reason)
  }
}
