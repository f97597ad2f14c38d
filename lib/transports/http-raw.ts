import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { HttpExchange, readBody } from './http-exchange.ts'
import type { ResponseHeaders } from './http-exchange.ts'
import type { HttpEndpoint } from './http.ts'
import { basePath, endpointUrls } from './paths.ts'

/** An exchange taken straight from node:http: no framework objects live as long as a held connect. */
class RawExchange extends HttpExchange {
  get remoteAddress (): string | undefined {
    return this.request.socket.remoteAddress
  }

  send (status: number, headers: ResponseHeaders, body: string): void {
    headers['content-length'] = Buffer.byteLength(body)
    this.response.writeHead(status, headers).end(body)
  }
}

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void

/**
 * The way in for the standalone server: a request listener put in front of fastify's
 * on its HTTP server, which hands the endpoint's requests to it directly, without
 * fastify's per-request objects, routing and hooks; every other request goes on to
 * fastify. Installed on a new fastify instance, before any route: the endpoint is
 * served this way only while no other route lies under its path (`/` as the path, say,
 * with the health probes); otherwise fastify routes everything, to the same endpoint,
 * through the plugin's routes. From fastify's `preClose` on, fastify answers
 * everything (its 503 while closing).
 */
export class RawWayIn {
  readonly #routeUrls: string[] = []
  #endpoint: HttpEndpoint | undefined
  #base = ''

  constructor (fastify: FastifyInstance) {
    const server = fastify.server
    const [fastifyListener] = server.listeners('request') as RequestListener[]
    server.removeListener('request', fastifyListener!)
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      if (this.#owns(request)) this.#serve(request, response)
      else fastifyListener!(request, response)
    })
    fastify.addHook('onRoute', route => {
      this.#routeUrls.push(route.url)
      if (this.#endpoint !== undefined) this.#check(this.#endpoint)
    })
    fastify.addHook('preClose', async () => {
      this.#endpoint = undefined
    })
  }

  /** Serves `endpoint` from now on, when it has its path to itself. */
  serve (endpoint: HttpEndpoint): void {
    this.#base = basePath(endpoint.path)
    this.#check(endpoint)
  }

  #check (endpoint: HttpEndpoint): void {
    const own = endpointUrls(endpoint.path)
    const shared = this.#routeUrls.some(url => !own.includes(url) && this.#under(url))
    this.#endpoint = shared ? undefined : endpoint
  }

  #owns (request: IncomingMessage): boolean {
    if (this.#endpoint === undefined) return false
    const method = request.method
    if (method !== 'POST' && method !== 'GET' && method !== 'OPTIONS') return false
    const url = request.url ?? ''
    const query = url.indexOf('?')
    return this.#under(query < 0 ? url : url.slice(0, query))
  }

  #under (path: string): boolean {
    const base = this.#base
    return path.startsWith(base) && (path.length === base.length || path.charCodeAt(base.length) === 0x2f)
  }

  #serve (request: IncomingMessage, response: ServerResponse): void {
    const endpoint = this.#endpoint!
    if (request.method !== 'POST') {
      endpoint.serve(new RawExchange(request, response, undefined))
      return
    }
    readBody(request, request.headers['content-length'], endpoint.bodyLimit, body => endpoint.serve(new RawExchange(request, response, body)))
  }
}
