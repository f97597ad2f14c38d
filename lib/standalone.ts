import Fastify, { LogController } from 'fastify'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { mountHealthAndMetrics } from './observability/health.ts'
import { loggerOptions } from './observability/logging.ts'
import type { LogFormat } from './observability/logging.ts'
import { BayeuxServer, coreOf } from './server/bayeux-server.ts'
import type { BayeuxOptions } from './server/core.ts'
import { CLI_SETTINGS } from './options.ts'
import { bayeuxPlugin } from './plugin.ts'

export interface ServerOptions extends BayeuxOptions {
  /** Interface to listen on; default in CLI_SETTINGS. */
  host?: string
  /** Port to listen on; 0 picks a free one. Default in CLI_SETTINGS. */
  port?: number
  /** fastify's `logger` option (pino), or false. Default: the level in CLI_SETTINGS. */
  logger?: boolean | { level?: string } | FastifyBaseLogger
  /** How a logger made from a level writes: `pretty`, `json`, or `auto` (pretty on a terminal, the default). */
  logFormat?: LogFormat
  /** Serves Prometheus metrics at `/metrics`. Default false. */
  metrics?: boolean
  /** Serves `/metrics` and the health probes on this port of `host` instead of `port`; implies `metrics`. 0 picks a free one. */
  metricsPort?: number
}

export interface RunningServer {
  readonly fastify: FastifyInstance
  readonly bayeux: BayeuxServer
  /** The Bayeux URL clients are given, e.g. `http://localhost:8080/cometd`. */
  readonly url: string
  /** Where Prometheus scrapes, e.g. `http://localhost:9464/metrics`; undefined without metrics. */
  readonly metricsUrl: string | undefined
  close (): Promise<void>
}

/**
 * Creates a fastify server serving Bayeux and the health probes (`/health/live`,
 * `/health/ready`), with metrics if asked, and starts listening.
 */
export async function createServer (options: ServerOptions = {}): Promise<RunningServer> {
  const {
    host = CLI_SETTINGS.host.default,
    port = CLI_SETTINGS.port.default,
    logger = { level: CLI_SETTINGS.logLevel.default },
    logFormat = CLI_SETTINGS.logFormat.default,
    metrics: withMetrics = CLI_SETTINGS.metrics.default,
    metricsPort,
    ...bayeuxOptions
  } = options
  const bayeux = new BayeuxServer(bayeuxOptions)
  const fastify = Fastify({
    ...(isLogger(logger) ? { loggerInstance: logger } : { logger: await formatted(logger, logFormat) }),
    ...QUIET_AND_PROMPT,
    bodyLimit: bayeux.options.maxBodySize
  })
  await fastify.register(bayeuxPlugin, { bayeux })

  // Observability (issue 12): probes and metrics, on the main listener or on their own.
  const core = coreOf(bayeux)
  // prom-client is loaded only when metrics are asked for.
  const metrics = withMetrics || metricsPort !== undefined ? new (await import('./observability/metrics.ts')).BayeuxMetrics(core) : undefined
  const probes = metricsPort === undefined ? fastify : Fastify({ loggerInstance: fastify.log, ...QUIET_AND_PROMPT })
  mountHealthAndMetrics(probes, core, metrics)

  await fastify.listen({ host, port })
  if (probes !== fastify) {
    try {
      await probes.listen({ host, port: metricsPort })
    } catch (error) {
      await closeWithGrace(fastify)
      metrics?.close()
      throw error
    }
  }
  return {
    fastify,
    bayeux,
    url: urlOf(fastify, host, bayeux.options.path),
    metricsUrl: metrics === undefined ? undefined : urlOf(probes, host, '/metrics'),
    close: async () => {
      await closeWithGrace(fastify)
      // Last, so that probes answer "not ready" while the main listener closes.
      if (probes !== fastify) await closeWithGrace(probes)
      metrics?.close()
    }
  }
}

/** Options both listeners share. */
const QUIET_AND_PROMPT = {
  // Every connect is a request: per-request log lines would drown everything else.
  logController: new LogController({ disableRequestLogging: true }),
  forceCloseConnections: 'idle'
} as const

/** `path` on the port `fastify` listens on. */
function urlOf (fastify: FastifyInstance, host: string, path: string): string {
  const address = fastify.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : -1
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`
}

/** fastify's `logger` option for a logger made from a level, in `format`. */
async function formatted (logger: boolean | { level?: string }, format: LogFormat): Promise<false | object> {
  if (logger === false) return false
  const given = logger === true ? {} : logger
  return { ...given, ...await loggerOptions(given.level ?? CLI_SETTINGS.logLevel.default, format) }
}

/** How long, in ms, connections may linger at shutdown once held connects are answered. */
const CLOSE_GRACE = 500

/**
 * Closes the server; connections still open after a short grace (a keep-alive
 * socket that never sent a request is not "idle" to Node) are cut, so shutdown
 * never waits for a keep-alive timeout.
 */
async function closeWithGrace (fastify: FastifyInstance): Promise<void> {
  const grace = setTimeout(() => fastify.server.closeAllConnections(), CLOSE_GRACE).unref()
  try {
    await fastify.close()
  } finally {
    clearTimeout(grace)
  }
}

function isLogger (value: unknown): value is FastifyBaseLogger {
  return typeof value === 'object' && value !== null && typeof (value as FastifyBaseLogger).child === 'function'
}
