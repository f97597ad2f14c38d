import type { FastifyInstance } from 'fastify'
import { BayeuxServerError } from './errors.ts'
import { BayeuxServer, coreOf } from './server/bayeux-server.ts'
import type { BayeuxOptions } from './server/core.ts'
import { HttpEndpoint } from './transports/http.ts'
import { serveOverFastify } from './transports/http-fastify.ts'
import { OriginPolicy } from './transports/origin.ts'
import { TRANSPORTS } from './transports/registry.ts'

export interface BayeuxPluginOptions extends BayeuxOptions {
  /** A server created beforehand, to keep a handle on it; else one is made from the options. */
  bayeux?: BayeuxServer
}

/** fastify's own register() options: they configure the registration, not the server. */
const REGISTER_OPTIONS = new Set(['prefix', 'logLevel', 'logSerializers'])

/**
 * The fastify plugin: serves every transport of `bayeux` on its path, in its own
 * encapsulated context (its body parsing does not touch the app's routes).
 *
 *   const bayeux = new BayeuxServer({ path: '/cometd' })
 *   await app.register(bayeuxPlugin, { bayeux })
 */
export async function bayeuxPlugin (fastify: FastifyInstance, options: BayeuxPluginOptions): Promise<void> {
  const { bayeux: given, ...rest } = options
  const serverOptions = Object.fromEntries(Object.entries(rest).filter(([key]) => !REGISTER_OPTIONS.has(key)))
  if (given !== undefined && Object.keys(serverOptions).length > 0) {
    throw new BayeuxServerError('BAYEUX_ERR_INVALID_OPTIONS',
      `Give either a server (bayeux) or its options, not both: ${Object.keys(serverOptions).join(', ')} would be ignored`)
  }
  await serveBayeux(fastify, given ?? new BayeuxServer(serverOptions))
}

/**
 * Serves every transport of `bayeux` on `fastify` (HTTP through fastify routes);
 * returns the HTTP endpoint, for the standalone server's own way in (lib/transports/http-raw.ts).
 */
export async function serveBayeux (fastify: FastifyInstance, bayeux: BayeuxServer): Promise<HttpEndpoint> {
  const core = coreOf(bayeux)
  core.reporter.log = fastify.log
  await bayeux.start()
  const origins = new OriginPolicy(core.options.allowedOrigins)
  const http = new HttpEndpoint(core, origins)
  const stops = TRANSPORTS.map(transport => transport.mount({ fastify, host: core, origins, http }))
  serveOverFastify(fastify, http, core)
  // Before the HTTP server stops: answer held connects and close sockets, so that
  // shutdown does not wait for connects to time out.
  fastify.addHook('preClose', async () => {
    await bayeux.close()
    await Promise.all(stops.map(stop => stop?.()))
  })
  return http
}
