import Fastify, { LogController } from 'fastify'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { BayeuxServer } from './server/bayeux-server.ts'
import type { BayeuxOptions } from './server/core.ts'
import { CLI_SETTINGS } from './options.ts'
import { bayeuxPlugin } from './plugin.ts'
import type { MaybePromise } from './types.ts'

export interface ServerOptions extends BayeuxOptions {
  /** Interface to listen on; default in CLI_SETTINGS. */
  host?: string
  /** Port to listen on; 0 picks a free one. Default in CLI_SETTINGS. */
  port?: number
  /** fastify's `logger` option (pino), or false. Default: the level in CLI_SETTINGS. */
  logger?: boolean | { level?: string } | FastifyBaseLogger
  /**
   * Called with the new BayeuxServer before it serves, to add listeners, authorizers and
   * extensions (bin/bayeux-server's `--require` modules); if it rejects, nothing listens.
   */
  setup?: (bayeux: BayeuxServer) => MaybePromise<void>
}

export interface RunningServer {
  readonly fastify: FastifyInstance
  readonly bayeux: BayeuxServer
  /** The Bayeux URL clients are given, e.g. `http://localhost:8080/cometd`. */
  readonly url: string
  close (): Promise<void>
}

/** Creates a fastify server serving Bayeux and starts listening. */
export async function createServer (options: ServerOptions = {}): Promise<RunningServer> {
  const {
    host = CLI_SETTINGS.host.default,
    port = CLI_SETTINGS.port.default,
    logger = { level: CLI_SETTINGS.logLevel.default },
    setup,
    ...bayeuxOptions
  } = options
  const bayeux = new BayeuxServer(bayeuxOptions)
  await setup?.(bayeux)
  const fastify = Fastify({
    ...(isLogger(logger) ? { loggerInstance: logger } : { logger }),
    // Every connect is a request: per-request log lines would drown everything else.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: bayeux.options.maxBodySize,
    forceCloseConnections: 'idle'
  })
  await fastify.register(bayeuxPlugin, { bayeux })
  await fastify.listen({ host, port })
  const address = fastify.server.address()
  const boundPort = typeof address === 'object' && address !== null ? address.port : port
  const shownHost = host.includes(':') ? `[${host}]` : host
  return {
    fastify,
    bayeux,
    url: `http://${shownHost}:${boundPort}${bayeux.options.path}`,
    close: () => closeWithGrace(fastify)
  }
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
