import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { serializeBatch } from '../protocol/outgoing-event.ts'
import type { RequestLink, Respond } from '../server/link.ts'
import { browserCookie, newBrowserId } from './cookie.ts'
import { refusal } from './envelope.ts'
import type { Envelope, Refusal } from './envelope.ts'
import { basePath } from './paths.ts'
import { TransportLink } from './transport-link.ts'
import type { MountContext, Transport, TransportOptions } from './transport.ts'

/** What an HTTP transport is made of: reading a payload from a request and writing one back. */
export interface HttpTransportSpec<Name extends string> {
  readonly name: Name
  readonly method: 'GET' | 'POST'
  read (request: FastifyRequest, options: TransportOptions): Envelope
  write (reply: FastifyReply, json: string, request: FastifyRequest): void
}

/** One HTTP request as the protocol core sees it. */
class HttpLink extends TransportLink implements RequestLink {
  readonly kind = 'request'
  readonly transport: string
  /** A cookie assigned during this request, to be set on its response. */
  assignedBrowserId: string | undefined

  constructor (transport: string, request: FastifyRequest, reply: FastifyReply, cookieName: string) {
    super(request.headers, request.ip, cookieName)
    this.transport = transport
    reply.raw.on('close', () => {
      // 'close' after a finished response is normal; before it, the client went away.
      if (!reply.raw.writableFinished) this.peerClosed()
    })
  }

  assignBrowserId (): string {
    this.browserId = this.assignedBrowserId = newBrowserId()
    return this.browserId
  }
}

const PREFLIGHT_MAX_AGE = '86400'

/**
 * Bayeux requests log through the server's logger, never per request: skipping
 * fastify's per-request child logger saves its allocation on every held connect.
 */
const noChildLogger = (logger: FastifyBaseLogger): FastifyBaseLogger => logger

/** Fastify contexts whose shared HTTP handling (parsers, errors, preflight) is set up. */
const prepared = new WeakSet<FastifyInstance>()

/**
 * A registry entry for a transport over plain HTTP requests: it serves `spec.method`
 * at `<path>` and `<path>/<anything>` (C79), with CORS for allowed origins (C87, C101).
 */
export function httpTransport<const Name extends string> (spec: HttpTransportSpec<Name>): Transport<Name> {
  return {
    name: spec.name,
    mount (context) {
      prepare(context)
      const serve = handler(spec, context)
      for (const url of urls(context.host.options.path)) {
        context.fastify.route({ method: spec.method, url, handler: serve, childLoggerFactory: noChildLogger })
      }
      return undefined
    }
  }
}

function urls (path: string): string[] {
  const base = basePath(path)
  return [base || '/', `${base}/*`]
}

type Handler = (request: FastifyRequest, reply: FastifyReply) => void

function handler<Name extends string> (spec: HttpTransportSpec<Name>, { host, origins }: MountContext): Handler {
  const { options } = host
  const offered = options.transports.includes(spec.name)

  /** Bad input: logged once at warn and answered with the status and a plain-text reason. */
  const refuse = (request: FastifyRequest, reply: FastifyReply, { status, reason, message }: Refusal, detail?: object): void => {
    host.badInput({ transport: spec.name, remoteAddress: request.ip }, reason, message, detail)
    reply.code(status).type('text/plain').send(message)
  }
  const notOffered = refusal(400, 'transport_not_offered', `transport not offered: ${spec.name}`)
  const foreignOrigin = refusal(403, 'origin_not_allowed', 'origin not allowed')

  // Handlers return nothing: a returned reply is a thenable, and fastify would attach
  // stream-end listeners to every response (a held connect included) to await it.
  return (request: FastifyRequest, reply: FastifyReply): void => {
    if (!allowCors(origins, request, reply)) {
      refuse(request, reply, foreignOrigin, { origin: request.headers.origin })
      return
    }
    if (!offered) {
      refuse(request, reply, notOffered)
      return
    }
    const envelope = spec.read(request, options)
    if (!envelope.ok) {
      refuse(request, reply, envelope)
      return
    }
    const link = new HttpLink(spec.name, request, reply, options.browserCookieName)
    const respond: Respond = (events, replies) => {
      if (link.closed || reply.sent) return
      if (link.assignedBrowserId !== undefined) {
        reply.header('set-cookie', browserCookie(options.browserCookieName, link.assignedBrowserId, options.browserCookieSameSite))
      }
      spec.write(reply, serializeBatch(events, replies), request)
    }
    host.process(envelope.batch, link, respond).catch(error => {
      host.log.error({ err: error }, 'failed to process a request')
      if (!reply.sent) reply.code(500).type('text/plain').send('Internal Server Error')
    })
  }
}

/** What every HTTP transport of one fastify context shares, set up once. */
function prepare ({ fastify, host, origins }: MountContext): void {
  if (prepared.has(fastify)) return
  prepared.add(fastify)
  const { options } = host

  // Bodies are read as text whatever their content type (C80), within the size limit (C102).
  // The catch-all alone would make fastify parse the Content-Type header of every request;
  // naming the type clients send lets it find the parser in its cache.
  fastify.removeAllContentTypeParsers()
  for (const type of ['application/json', '*']) {
    fastify.addContentTypeParser(type, { parseAs: 'string', bodyLimit: options.maxBodySize }, (_request, body, done) => done(null, body))
  }

  fastify.setErrorHandler((error: Error & { statusCode?: number, code?: string }, request, reply) => {
    const status = error.statusCode ?? 500
    if (status >= 500) {
      host.log.error({ err: error }, 'HTTP transport failure')
      return reply.code(500).type('text/plain').send('Internal Server Error')
    }
    const reason = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'too_large' : 'malformed_request'
    host.badInput({ transport: 'http', remoteAddress: request.ip }, reason, error.message)
    return reply.code(status).type('text/plain').send(error.message)
  })

  const preflight = (request: FastifyRequest, reply: FastifyReply): void => {
    if (allowCors(origins, request, reply) && request.headers.origin !== undefined) {
      reply.header('access-control-allow-methods', 'GET, POST, OPTIONS')
      reply.header('access-control-allow-headers', request.headers['access-control-request-headers'] ?? 'Content-Type')
      reply.header('access-control-max-age', PREFLIGHT_MAX_AGE)
    }
    reply.code(200).send()
  }
  for (const url of urls(options.path)) {
    fastify.route({ method: 'OPTIONS', url, handler: preflight, childLoggerFactory: noChildLogger })
  }
}

/** Sets the CORS headers for an allowed origin; false when the origin is not allowed. */
function allowCors (origins: MountContext['origins'], request: FastifyRequest, reply: FastifyReply): boolean {
  const origin = request.headers.origin
  if (!origins.allows(origin, request.headers)) return false
  if (origin !== undefined) {
    // Credentials are sent (cookies), so the origin is echoed, never `*` (C101).
    reply.header('access-control-allow-origin', origin)
    reply.header('access-control-allow-credentials', 'true')
    reply.header('vary', 'Origin')
  }
  return true
}
