import type { FastifyInstance } from 'fastify'
import type { BadInputReason, InputSource } from '../diagnostics.ts'
import type { Logger } from '../logger.ts'
import type { Link, Respond } from '../server/link.ts'
import type { Envelope } from './envelope.ts'
import type { HttpExchange, ResponseHeaders } from './http-exchange.ts'
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
   * processing is done, so a connection's payloads can be kept in order. There is
   * none when processing is over already (most connects).
   */
  process (batch: readonly unknown[], link: Link, respond: Respond): Promise<void> | undefined
  /**
   * Whether anything may read a link's headers after its first message: only a policy's
   * canHandshake can (docs/protocol.md §7.4). A WebSocket keeps its upgrade's headers only then.
   */
  readonly readsHeaders: boolean
  /** Logs refused input once at warn, and publishes the bad-input diagnostics event. */
  badInput (source: InputSource, reason: BadInputReason, message: string, detail?: object): void
}

/** What an HTTP transport is made of: reading a payload from a request and writing one back. */
export interface HttpTransportSpec<Name extends string = string> {
  readonly name: Name
  readonly method: 'GET' | 'POST'
  read (exchange: HttpExchange, options: TransportOptions): Envelope
  /** The response body for a payload serialized as `json`; its own headers go into `headers`. */
  write (json: string, exchange: HttpExchange, headers: ResponseHeaders): string
}

/** The Bayeux HTTP endpoint (lib/transports/http.ts), as HTTP transports see it. */
export interface HttpRoutes {
  /** Serves `spec.method` with `spec`'s transport, whether offered or not (a client is told which). */
  add (spec: HttpTransportSpec): void
}

export interface MountContext {
  readonly fastify: FastifyInstance
  readonly host: TransportHost
  readonly origins: OriginPolicy
  /** Where HTTP transports serve: both ways in (fastify routes, the standalone's raw listener) lead there. */
  readonly http: HttpRoutes
}

/**
 * One entry of the transport registry: serves its transport on the endpoint (HTTP
 * routes, or an upgrade handler) and returns what stops it at shutdown, if anything.
 */
export interface Transport<Name extends string = string> {
  readonly name: Name
  mount (context: MountContext): (() => Promise<void>) | undefined
}
