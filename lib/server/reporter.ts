import type { EventEmitter } from 'node:events'
import * as diagnostics from '../diagnostics.ts'
import type { BadInputReason, InputSource } from '../diagnostics.ts'
import { silentLogger } from '../logger.ts'
import type { Logger } from '../logger.ts'
import type { BayeuxEvents } from './events.ts'
import type { Session } from './session.ts'

/**
 * Where the core tells the outside world what happened: the logger, the
 * application's event listeners, and diagnostics subscribers. Application code
 * that throws here is logged and never breaks the server's own work.
 */
export class Reporter {
  log: Logger = silentLogger
  readonly #events: EventEmitter<BayeuxEvents>

  constructor (events: EventEmitter<BayeuxEvents>) {
    this.#events = events
  }

  /** Whose events these are (the BayeuxServer), as the `server` of diagnostics events. */
  get server (): object {
    return this.#events
  }

  /** Tells event listeners, if any. */
  notify<K extends keyof BayeuxEvents> (event: K, ...args: BayeuxEvents[K]): void {
    if (this.#events.listenerCount(event) === 0) return
    this.shield(`a '${event}' listener`, () => (this.#events.emit as (event: K, ...args: BayeuxEvents[K]) => boolean)(event, ...args))
  }

  /** Runs `work`, logging instead of throwing: for code called from timers and events. */
  shield (what: string, work: () => unknown): void {
    try {
      work()
    } catch (error) {
      this.log.error({ err: error }, `${what} failed`)
    }
  }

  /** Logs refused input once at warn, and tells diagnostics subscribers. */
  badInput (source: InputSource, reason: BadInputReason, message: string, detail: object = {}): void {
    this.log.warn({ transport: source.transport, remoteAddress: source.remoteAddress, reason, ...detail }, `bad input: ${message}`)
    if (diagnostics.badInput.hasSubscribers) diagnostics.badInput.publish({ server: this.#events, transport: source.transport, reason, message, ...detail })
  }

  overflowed (session: Session, dropped: number): void {
    this.log.warn({ clientId: session.id, dropped }, 'session queue full: dropped oldest events')
    if (diagnostics.queueOverflow.hasSubscribers) diagnostics.queueOverflow.publish({ server: this.#events, session, dropped })
    this.notify('overflow', session, dropped)
  }

  /** Logs the failure of an operation whose result nobody waits for (an engine call). */
  settle (result: unknown, operation: string): void {
    if (result instanceof Promise) {
      result.catch(error => {
        // An outage is logged once, when the engine reports it, not per operation; so are
        // the destroys it keeps for a retry (destroysPending).
        if (error?.code !== 'BAYEUX_ERR_ENGINE_UNAVAILABLE') this.log.error({ err: error, operation }, 'engine operation failed')
      })
    }
  }

  /** The engine lost what it depends on (Redis), or got it back: logged once per change. */
  engineStatus (available: boolean, error?: Error): void {
    if (available) this.log.info({}, 'engine available again')
    else this.log.warn({ err: error }, 'engine unavailable: messages that need it fail with 503::engine_unavailable until it is back')
  }

  /** Sessions ended here whose removal the engine could not send yet (EngineHost.destroysPending): logged once per change. */
  destroysPending (pending: boolean): void {
    if (!pending) this.log.info({}, 'engine: every session ended here is removed from it now')
    else this.log.warn({}, 'engine: sessions ended here are not removed from it yet (retried at each heartbeat); until they are, another node may take them over should this one die or stay cut off (docs/cluster.md, Failure)')
  }
}
