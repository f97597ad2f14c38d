import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { serializeBatch } from '../protocol/event.ts'
import type { BayeuxServer } from '../server/bayeux-server.ts'
import type { Link, Respond, TransportName } from '../server/link.ts'
import type { Options } from '../options.ts'
import { callbackPolling } from './callback-polling.ts'
import { browserCookie, newBrowserId } from './cookie.ts'
import type { Envelope } from './envelope.ts'
import { longPolling } from './long-polling.ts'
import { TransportLink } from './transport-link.ts'
import { basePath } from './paths.ts'
import type { OriginPolicy } from './origin.ts'

export type ReadLimits = Pick<Options, 'maxMessagesPerBatch' | 'maxBodySize' | 'jsonpCallbackMaxLength'>

/** An HTTP transport only reads a payload from a request and writes one back. */
export interface HttpTransport {
  readonly name: Exclude<TransportName, 'websocket'>
  read (request: FastifyRequest, limits: ReadLimits): Envelope
  write (reply: FastifyReply, json: string, request: FastifyRequest): void
}

/** One HTTP request as the protocol core sees it. */
class HttpLink extends TransportLink implements Link {
  readonly transport: TransportName
  readonly persistent = false
  /** A cookie assigned during this request, to be set on its response. */
  assignedBrowserId: string | undefined

  constructor (transport: TransportName, request: FastifyRequest, reply: FastifyReply, cookieName: string) {
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

/**
 * Serves long-polling (POST) and callback-polling (GET) at `<path>` and
 * `<path>/<anything>` (C79), with CORS for allowed origins (C87, C101).
 */
export function registerHttp (fastify: FastifyInstance, bayeux: BayeuxServer, origins: OriginPolicy): void {
  const { options } = bayeux
  const offered = new Set(options.transports)

  // Bodies are read as text whatever their content type (C80), within the size limit (C102).
  // The catch-all alone would make fastify parse the Content-Type header of every request;
  // naming the type clients send lets it find the parser in its cache.
  fastify.removeAllContentTypeParsers()
  for (const type of ['application/json', '*']) {
    fastify.addContentTypeParser(type, { parseAs: 'string', bodyLimit: options.maxBodySize }, (_request, body, done) => done(null, body))
  }

  fastify.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode ?? 500
    if (status >= 500) {
      bayeux.log.error({ err: error }, 'HTTP transport failure')
      return reply.code(500).type('text/plain').send('Internal Server Error')
    }
    bayeux.badInput({ transport: 'http', remoteAddress: request.ip }, error.message)
    return reply.code(status).type('text/plain').send(error.message)
  })

  const allowCors = (request: FastifyRequest, reply: FastifyReply): boolean => {
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

  /** Bad input: logged once at warn and answered with `status` and a plain-text reason. */
  const refuse = (transport: HttpTransport, request: FastifyRequest, reply: FastifyReply, status: number, reason: string, detail?: object): void => {
    bayeux.badInput({ transport: transport.name, remoteAddress: request.ip }, reason, detail)
    reply.code(status).type('text/plain').send(reason)
  }

  // Handlers return nothing: a returned reply is a thenable, and fastify would attach
  // stream-end listeners to every response (a held connect included) to await it.
  const serve = (request: FastifyRequest, reply: FastifyReply): void => {
    const transport = request.method === 'POST' ? longPolling : callbackPolling
    if (!allowCors(request, reply)) {
      refuse(transport, request, reply, 403, 'origin not allowed', { origin: request.headers.origin })
      return
    }
    if (!offered.has(transport.name)) {
      refuse(transport, request, reply, 400, `transport not offered: ${transport.name}`)
      return
    }
    const envelope = transport.read(request, options)
    if (!envelope.ok) {
      refuse(transport, request, reply, envelope.status, envelope.reason)
      return
    }
    const link = new HttpLink(transport.name, request, reply, options.browserCookieName)
    const respond: Respond = (events, replies) => {
      if (link.closed || reply.sent) return
      if (link.assignedBrowserId !== undefined) {
        reply.header('set-cookie', browserCookie(options.browserCookieName, link.assignedBrowserId, options.browserCookieSameSite))
      }
      transport.write(reply, serializeBatch(events, replies), request)
    }
    bayeux.process(envelope.batch, link, respond).catch(error => {
      bayeux.log.error({ err: error }, 'failed to process a request')
      if (!reply.sent) reply.code(500).type('text/plain').send('Internal Server Error')
    })
  }

  const preflight = (request: FastifyRequest, reply: FastifyReply): void => {
    if (allowCors(request, reply) && request.headers.origin !== undefined) {
      reply.header('access-control-allow-methods', 'GET, POST, OPTIONS')
      reply.header('access-control-allow-headers', request.headers['access-control-request-headers'] ?? 'Content-Type')
      reply.header('access-control-max-age', PREFLIGHT_MAX_AGE)
    }
    reply.code(200).send()
  }

  const base = basePath(options.path)
  for (const url of [base || '/', `${base}/*`]) {
    fastify.route({ method: ['GET', 'POST'], url, handler: serve, childLoggerFactory: noChildLogger })
    fastify.route({ method: 'OPTIONS', url, handler: preflight, childLoggerFactory: noChildLogger })
  }
}
