import type { IncomingHttpHeaders } from 'node:http'
import { serializeBatch } from '../protocol/outgoing-event.ts'
import type { LinkWatcher, RequestLink, Respond } from '../server/link.ts'
import { browserCookie, newBrowserId } from './cookie.ts'
import { refusal } from './envelope.ts'
import type { Refusal } from './envelope.ts'
import type { HttpExchange, ResponseHeaders } from './http-exchange.ts'
import type { OriginPolicy } from './origin.ts'
import { TransportLink } from './transport-link.ts'
import type { HttpRoutes, HttpTransportSpec, Transport, TransportHost } from './transport.ts'

/** One HTTP request as the protocol core sees it. */
class HttpLink extends TransportLink implements RequestLink {
  readonly kind = 'request'
  readonly transport: string
  /** A cookie assigned during this request, to be set on its response. */
  assignedBrowserId: string | undefined
  readonly #exchange: HttpExchange
  #watching = false

  constructor (transport: string, exchange: HttpExchange, cookieName: string) {
    super(exchange.request.headers, cookieName)
    this.transport = transport
    this.#exchange = exchange
  }

  get headers (): IncomingHttpHeaders {
    return this.#exchange.request.headers
  }

  /**
   * Read when asked (a handshake, a log line): Node's getter costs more than the rest
   * of a connect's link, and most requests never need it.
   */
  override get remoteAddress (): string | undefined {
    return this.#exchange.remoteAddress
  }

  /** The response is watched only once someone listens (a held connect): most are answered at once. */
  override onClose (watcher: LinkWatcher): void {
    if (!this.#watching) {
      this.#watching = true
      const response = this.#exchange.response
      // 'close' after a finished response is normal; before it, the client went away.
      const closed = (): void => {
        if (!response.writableFinished) this.peerClosed()
      }
      if (response.destroyed) closed()
      else response.on('close', closed)
    }
    super.onClose(watcher)
  }

  assignBrowserId (): string {
    this.browserId = this.assignedBrowserId = newBrowserId()
    return this.browserId
  }
}

const PREFLIGHT_MAX_AGE = '86400'
const PLAIN_TEXT = 'text/plain; charset=utf-8'
const FOREIGN_ORIGIN = refusal(403, 'origin_not_allowed', 'origin not allowed')

type Route = (exchange: HttpExchange) => void

/**
 * The Bayeux HTTP endpoint: `<path>` and `<path>/<anything>` (C79), with CORS for
 * allowed origins (C87, C101), each method served by its transport. It is the one
 * implementation of HTTP for both ways in (lib/transports/http-fastify.ts,
 * http-raw.ts), which only hand it exchanges.
 */
export class HttpEndpoint implements HttpRoutes {
  readonly #host: TransportHost
  readonly #origins: OriginPolicy
  readonly #routes = new Map<string, Route>()

  constructor (host: TransportHost, origins: OriginPolicy) {
    this.#host = host
    this.#origins = origins
  }

  get path (): string {
    return this.#host.options.path
  }

  /** Bodies longer than this many bytes are refused (C102). */
  get bodyLimit (): number {
    return this.#host.options.maxBodySize
  }

  /** The methods served, preflight (OPTIONS) included. */
  get methods (): string[] {
    return [...this.#routes.keys(), 'OPTIONS']
  }

  add (spec: HttpTransportSpec): void {
    this.#routes.set(spec.method, this.#route(spec))
  }

  serve (exchange: HttpExchange): void {
    const method = exchange.request.method!
    if (method === 'OPTIONS') this.#preflight(exchange)
    // fastify answers HEAD through the GET route, without the body.
    else this.#routes.get(method === 'HEAD' ? 'GET' : method)?.(exchange)
  }

  /** Bad input: logged once at warn and answered with the status and a plain-text reason. */
  #refuse (exchange: HttpExchange, transport: string, { status, reason, message }: Refusal, detail?: object): void {
    this.#host.badInput({ transport, remoteAddress: exchange.remoteAddress }, reason, message, detail)
    exchange.send(status, this.#headers(exchange, PLAIN_TEXT), message)
  }

  #route (spec: HttpTransportSpec): Route {
    const host = this.#host
    const { options } = host
    const offered = options.transports.includes(spec.name)
    const notOffered = refusal(400, 'transport_not_offered', `transport not offered: ${spec.name}`)
    return exchange => {
      if (!this.#allows(exchange)) {
        this.#refuse(exchange, spec.name, FOREIGN_ORIGIN, { origin: exchange.request.headers.origin })
        return
      }
      if (!offered) {
        this.#refuse(exchange, spec.name, notOffered)
        return
      }
      if (typeof exchange.body === 'object') {
        this.#refuse(exchange, spec.name, exchange.body)
        return
      }
      const envelope = spec.read(exchange, options)
      exchange.forgetBody()
      if (!envelope.ok) {
        this.#refuse(exchange, spec.name, envelope)
        return
      }
      const link = new HttpLink(spec.name, exchange, options.browserCookieName)
      const respond: Respond = (events, replies) => {
        if (link.closed || exchange.done) return
        const headers = this.#headers(exchange, undefined)
        if (link.assignedBrowserId !== undefined) {
          headers['set-cookie'] = browserCookie(options.browserCookieName, link.assignedBrowserId, options.browserCookieSameSite)
        }
        exchange.send(200, headers, spec.write(serializeBatch(events, replies), exchange, headers))
      }
      host.process(envelope.batch, link, respond)?.catch(error => {
        host.log.error({ err: error }, 'failed to process a request')
        if (!exchange.done) exchange.send(500, this.#headers(exchange, PLAIN_TEXT), 'Internal Server Error')
      })
    }
  }

  #preflight (exchange: HttpExchange): void {
    const headers = this.#headers(exchange, undefined)
    const request = exchange.request.headers
    if (this.#allows(exchange) && request.origin !== undefined) {
      headers['access-control-allow-methods'] = 'GET, POST, OPTIONS'
      headers['access-control-allow-headers'] = request['access-control-request-headers'] ?? 'Content-Type'
      headers['access-control-max-age'] = PREFLIGHT_MAX_AGE
    }
    exchange.send(200, headers, '')
  }

  #allows (exchange: HttpExchange): boolean {
    const headers = exchange.request.headers
    return this.#origins.allows(headers.origin, headers)
  }

  /** A response's headers: its type, and CORS for an allowed origin. */
  #headers (exchange: HttpExchange, type: string | undefined): ResponseHeaders {
    const headers: ResponseHeaders = {}
    if (type !== undefined) headers['content-type'] = type
    const origin = exchange.request.headers.origin
    if (origin !== undefined && this.#allows(exchange)) {
      // Credentials are sent (cookies), so the origin is echoed, never `*` (C101).
      headers['access-control-allow-origin'] = origin
      headers['access-control-allow-credentials'] = 'true'
      headers['vary'] = 'Origin'
    }
    return headers
  }
}

/** A registry entry for a transport over plain HTTP requests: it serves its method on the endpoint. */
export function httpTransport<const Name extends string> (spec: HttpTransportSpec<Name>): Transport<Name> {
  return {
    name: spec.name,
    mount ({ http }) {
      http.add(spec)
      return undefined
    }
  }
}
