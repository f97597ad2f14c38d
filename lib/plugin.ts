import type { FastifyInstance } from 'fastify'
import { BayeuxServer } from './server/bayeux-server.ts'
import type { BayeuxOptions } from './server/bayeux-server.ts'
import { registerHttp } from './transports/http.ts'
import { OriginPolicy } from './transports/origin.ts'
import { attachWebSocket } from './transports/websocket.ts'

export interface BayeuxPluginOptions extends BayeuxOptions {
  /** A server created beforehand, to keep a handle on it; else one is made from the options. */
  bayeux?: BayeuxServer
}

/**
 * The fastify plugin: serves every transport of `bayeux` on its path, in its own
 * encapsulated context (its body parsing does not touch the app's routes).
 *
 *   const bayeux = new BayeuxServer({ path: '/cometd' })
 *   await app.register(bayeuxPlugin, { bayeux })
 */
export async function bayeuxPlugin (fastify: FastifyInstance, options: BayeuxPluginOptions): Promise<void> {
  const { bayeux: given, ...rest } = options
  const bayeux = given ?? new BayeuxServer(rest)
  bayeux.log = fastify.log
  await bayeux.start()
  const origins = new OriginPolicy(bayeux.options.allowedOrigins)
  registerHttp(fastify, bayeux, origins)
  // A register() prefix moves the HTTP routes: the socket must be on the same URL, the
  // one clients are given (BAYEUX.md §8).
  const closeWebSockets = bayeux.options.transports.includes('websocket')
    ? attachWebSocket(fastify.server, bayeux, origins, fastify.prefix + bayeux.options.path)
    : async () => {}
  // Before the HTTP server stops: answer held connects and close sockets, so that
  // shutdown does not wait for connects to time out.
  fastify.addHook('preClose', async () => {
    await bayeux.close()
    await closeWebSockets()
  })
}
