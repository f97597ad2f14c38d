import type { FastifyInstance } from 'fastify'
import type { BadInputReason, InputSource } from '../diagnostics.ts'
import type { Logger } from '../logger.ts'
import type { Link, Respond } from '../server/link.ts'
import type { OriginPolicy } from './origin.ts'

/** The server options transports read; the core's resolved options are one. */
export interface TransportOptions {
  /** The endpoint's path, without a register() prefix. */
  readonly path: string
  readonly transports: readonly string[]
  readonly maxBodySize: number
  readonly maxMessagesPerBatch: number
  readonly jsonpCallbackMaxLength: number
  readonly browserCookieName: string
  readonly browserCookieSameSite: 'Strict' | 'Lax' | 'None'
  readonly websocketHighWaterMark: number
}

/** What a transport needs from the protocol core: it hands over arrays of messages, nothing else. */
export interface TransportHost {
  readonly options: TransportOptions
  readonly log: Logger
  /**
   * Handles one payload (parsed, non-empty). The answer goes through `respond`
   * exactly once, possibly later for a held connect; the promise settles when
   * processing is done, so a connection's payloads can be kept in order.
   */
  process (batch: readonly unknown[], link: Link, respond: Respond): Promise<void>
  /** Logs refused input once at warn, and publishes the bad-input diagnostics event. */
  badInput (source: InputSource, reason: BadInputReason, message: string, detail?: object): void
}

export interface MountContext {
  readonly fastify: FastifyInstance
  readonly host: TransportHost
  readonly origins: OriginPolicy
}

/**
 * One entry of the transport registry: serves its transport on the endpoint (HTTP
 * routes, or an upgrade handler) and returns what stops it at shutdown, if anything.
 */
export interface Transport<Name extends string = string> {
  readonly name: Name
  mount (context: MountContext): (() => Promise<void>) | undefined
}
