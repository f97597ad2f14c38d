/**
 * Health probes and the metrics route, for createServer (lib/standalone.ts): on the
 * main listener, or on a separate one that can stay internal. Probes are plain GETs
 * for load balancers and orchestrators: no CORS, no origin check, no cookie.
 */
import type { FastifyInstance } from 'fastify'
import type { Engine } from '../engines/engine.ts'
import type { ServerCore } from '../server/core.ts'
import type { BayeuxMetrics } from './metrics.ts'

export const LIVE_PATH = '/health/live'
export const READY_PATH = '/health/ready'
export const METRICS_PATH = '/metrics'

/** Whether the server takes new work: not once it drains (SIGTERM) or closes. */
export function serving (core: ServerCore): boolean {
  return !core.registry.closing
}

/**
 * Whether the engine reaches what it routes through. The memory engine always does;
 * the Redis engine declares `reachable`, false while it cannot reach Redis, and
 * readiness follows.
 */
export function engineReachable (engine: Engine): boolean {
  return (engine as { readonly reachable?: boolean }).reachable !== false
}

/** Why the server is not ready, or undefined when it is. */
export function notReady (core: ServerCore): string | undefined {
  if (!serving(core)) return 'closing'
  if (!engineReachable(core.engine)) return 'engine unreachable'
  return undefined
}

/** Serves the probes (and `/metrics`, when given metrics) on `fastify`, outside any Bayeux path. */
export function mountHealthAndMetrics (fastify: FastifyInstance, core: ServerCore, metrics: BayeuxMetrics | undefined): void {
  fastify.get(LIVE_PATH, (_request, reply) => {
    reply.header('cache-control', 'no-store').type('text/plain').send('live\n')
  })
  fastify.get(READY_PATH, (_request, reply) => {
    const reason = notReady(core)
    reply.header('cache-control', 'no-store').type('text/plain').code(reason === undefined ? 200 : 503).send(`${reason ?? 'ready'}\n`)
  })
  if (metrics === undefined) return
  fastify.get(METRICS_PATH, async (_request, reply) => {
    const text = await metrics.metrics()
    return reply.header('cache-control', 'no-store').type(metrics.contentType).send(text)
  })
}
