import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify'
import type { Refusal } from './envelope.ts'
import { HttpExchange, readBody } from './http-exchange.ts'
import type { ResponseHeaders } from './http-exchange.ts'
import type { HttpEndpoint } from './http.ts'
import { endpointUrls } from './paths.ts'
import type { TransportHost } from './transport.ts'

/** An exchange that came in as a fastify route: answered through the reply, so the app's hooks see it. */
class FastifyExchange extends HttpExchange {
  readonly #request: FastifyRequest
  readonly #reply: FastifyReply

  constructor (request: FastifyRequest, reply: FastifyReply) {
    super(request.raw, reply.raw, request.body as string | Refusal | undefined)
    this.#request = request
    this.#reply = reply
  }

  get remoteAddress (): string | undefined {
    return this.#request.ip
  }

  send (status: number, headers: ResponseHeaders, body: string): void {
    this.#reply.code(status).headers(headers).send(body)
  }
}

/**
 * Bayeux requests log through the server's logger, never per request: skipping
 * fastify's per-request child logger saves its allocation on every held connect.
 */
const noChildLogger = (logger: FastifyBaseLogger): FastifyBaseLogger => logger

/**
 * The way in for embedders: the endpoint's methods as routes of `fastify` (a context
 * of the plugin's own, so that its body parsing does not touch the app's routes).
 */
export function serveOverFastify (fastify: FastifyInstance, endpoint: HttpEndpoint, host: TransportHost): void {
  // Bodies are read as text whatever their content type (C80), within the size limit
  // (C102), by the reader both ways in share. Naming the type clients send, beside the
  // catch-all, lets fastify find the parser in its cache instead of parsing every
  // Content-Type header.
  fastify.removeAllContentTypeParsers()
  for (const type of ['application/json', '*']) {
    fastify.addContentTypeParser(type, (request, payload, done) => {
      readBody(payload, request.headers['content-length'], endpoint.bodyLimit, body => done(null, body))
    })
  }

  // What fastify itself refuses before a route runs.
  fastify.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode ?? 500
    if (status >= 500) {
      host.log.error({ err: error }, 'HTTP transport failure')
      return reply.code(500).type('text/plain').send('Internal Server Error')
    }
    host.badInput({ transport: 'http', remoteAddress: request.ip }, 'malformed_request', error.message)
    return reply.code(status).type('text/plain').send(error.message)
  })

  // Handlers return nothing: a returned reply is a thenable, and fastify would attach
  // stream-end listeners to every response (a held connect included) to await it.
  const handler = (request: FastifyRequest, reply: FastifyReply): void => endpoint.serve(new FastifyExchange(request, reply))
  for (const url of endpointUrls(endpoint.path)) {
    fastify.route({ method: endpoint.methods as HTTPMethods[], url, handler, childLoggerFactory: noChildLogger })
  }
}
