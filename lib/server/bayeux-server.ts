import { EventEmitter } from 'node:events'
import { BayeuxServerError } from '../errors.ts'
import { CLI_SETTINGS } from '../options.ts'
import type { ResolvedOptions } from '../options.ts'
import type { EventMessage, Ext } from '../protocol/message.ts'
import { OutgoingEvent } from '../protocol/outgoing-event.ts'
import type { Authorizer } from './authorizers.ts'
import { ServerCore } from './core.ts'
import type { BayeuxOptions } from './core.ts'
import type { DrainResult } from './drain.ts'
import type { BayeuxEvents } from './events.ts'
import type { Extension } from './extensions.ts'
import type { HistoryEntry } from './history.ts'
import type { ChannelListener } from './publisher.ts'
import type { ServerSession } from './session.ts'

/** The core of a server, for the plugin and the tests; not part of the public API. */
let coreOf: (server: BayeuxServer) => ServerCore

/**
 * A Bayeux server: what applications use to publish, listen, guard channels and
 * follow sessions. Serve it with `bayeuxPlugin` (or `createServer`).
 */
export class BayeuxServer extends EventEmitter<BayeuxEvents> {
  readonly #core: ServerCore

  static {
    coreOf = server => server.#core
  }

  constructor (options: BayeuxOptions = {}) {
    super()
    this.#core = new ServerCore(options, this)
  }

  /** The options in force, defaults included; frozen. */
  get options (): ResolvedOptions {
    return this.#core.options
  }

  /** Live sessions of this server (this node, with a multi-node engine). */
  get sessionCount (): number {
    return this.#core.registry.size
  }

  /** Live sessions of every node sharing the engine; the same as `sessionCount` on one node. */
  async countSessions (): Promise<number> {
    return await this.#core.engine.sessionCount()
  }

  /** A session this server (node) holds; see `deliver` for one held anywhere. */
  getSession (id: string): ServerSession | undefined {
    return this.#core.registry.get(id)
  }

  /**
   * Sends `data` on `channel` to the session `clientId` only, whichever node holds it;
   * false when no node does.
   */
  async deliver (clientId: string, channel: string, data: unknown, ext?: Ext): Promise<boolean> {
    const parsed = this.#core.channels.parse(channel)
    if (parsed === null || parsed.wild !== 0 || parsed.kind === 'meta') {
      throw new BayeuxServerError('BAYEUX_ERR_INVALID_CHANNEL', `Cannot deliver on ${JSON.stringify(channel)}`)
    }
    return await this.#core.engine.deliver(clientId, OutgoingEvent.of({ channel, data, ...(ext !== undefined && { ext }) }))
  }

  /** True from the moment `drain()` is called: a readiness probe should fail from then on. */
  get draining (): boolean {
    return this.#core.registry.draining
  }

  /**
   * Prepares a shutdown, for at most `timeout` ms (README, "Drain and shutdown"): handshakes
   * are refused with `503::server_draining`, held connects are answered and new ones are
   * not held, each client told to come back after a random 0.5 to 3 s; WebSockets get
   * their queued events, then close 1001; long-polling clients may collect theirs.
   * Resolves when nothing is left to deliver and payloads in progress (publishes) are
   * answered, or at the timeout. The server keeps serving in this mode until `close()`.
   */
  async drain (timeout: number = CLI_SETTINGS.shutdownTimeout.default): Promise<DrainResult> {
    if (!Number.isInteger(timeout) || timeout < 0 || timeout > CLI_SETTINGS.shutdownTimeout.maximum) {
      throw new BayeuxServerError('BAYEUX_ERR_INVALID_OPTIONS', `A drain timeout is a whole number of ms from 0 to ${CLI_SETTINGS.shutdownTimeout.maximum}, not ${String(timeout)}`)
    }
    return this.#core.drain(timeout)
  }

  /** Starts the engine; the plugin calls it before serving. Idempotent. */
  start (): Promise<void> {
    return this.#core.start()
  }

  /**
   * Answers every held connect now and stops the engine. Sessions are not ended:
   * clients reconnect, and a restarted server (or another node sharing the engine)
   * tells them what to do.
   */
  close (): Promise<void> {
    return this.#core.close()
  }

  /** Publishes from the server to every subscriber of `channel` (a concrete broadcast channel). */
  async publish (channel: string, data: unknown, ext?: Ext): Promise<void> {
    const parsed = this.#core.channels.parse(channel)
    if (parsed === null || parsed.wild !== 0 || parsed.kind !== 'broadcast') {
      throw new BayeuxServerError('BAYEUX_ERR_INVALID_CHANNEL', `Cannot publish to ${JSON.stringify(channel)}`)
    }
    await this.#core.publisher.broadcast({ channel, data, ...(ext !== undefined && { ext }) }, parsed, undefined, undefined)
  }

  /**
   * The events the history still holds of `channel` (docs/replay.md), oldest first, as
   * subscribers get them, with their replay ids: those after the replay id `after`, or
   * all of them; at most `limit` (default: historySize), so that `after` can page on
   * from the last id returned. `channel` may be a wildcard (without `after`: ids are per
   * channel). Throws BAYEUX_ERR_INVALID_CHANNEL for a channel that keeps no history, and
   * BAYEUX_ERR_HISTORY_GAP when events after `after` are no longer held, or it was never issued.
   */
  async history (channel: string, { after, limit }: { after?: number, limit?: number } = {}): Promise<HistoryEntry[]> {
    const core = this.#core
    const parsed = core.channels.parse(channel)
    if (core.history === undefined || parsed === null || parsed.kind !== 'broadcast' || (parsed.wild === 0 && core.history.formOf(parsed) === undefined)) {
      throw new BayeuxServerError('BAYEUX_ERR_INVALID_CHANNEL', `${JSON.stringify(channel)} keeps no history`)
    }
    if (after !== undefined && (!Number.isSafeInteger(after) || after < 1 || parsed.wild !== 0)) {
      throw new BayeuxServerError('BAYEUX_ERR_INVALID_OPTIONS', `after is a replay id (a positive integer) of a channel, not ${String(after)} of ${JSON.stringify(channel)}`)
    }
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
      throw new BayeuxServerError('BAYEUX_ERR_INVALID_OPTIONS', `limit is a positive integer, not ${String(limit)}`)
    }
    const events = await core.engine.history(parsed.name, after, limit ?? core.options.historySize)
    if (events === undefined) throw new BayeuxServerError('BAYEUX_ERR_HISTORY_GAP', `The history of ${channel} no longer keeps every event after ${String(after)}, or that id was never issued`)
    return events.map(event => ({ id: event.replayId!, message: event.message as EventMessage }))
  }

  /** Listens to publishes on channels matching `pattern` (may end in `*` or `**`); returns a function that stops it. */
  listen (pattern: string, listener: ChannelListener): () => void {
    return this.#core.publisher.listeners.add(this.#core.applicationPattern(pattern, 'listen to'), listener)
  }

  /** Guards channels matching `pattern` (may end in `*` or `**`); returns a function that removes the authorizer. */
  authorize (pattern: string, authorizer: Authorizer): () => void {
    return this.#core.authorizers.add(this.#core.applicationPattern(pattern, 'authorize'), authorizer)
  }

  addExtension (extension: Extension): void {
    this.#core.addExtension(extension)
  }

  removeExtension (extension: Extension): void {
    this.#core.extensions.remove(extension)
  }
}

export { coreOf }
