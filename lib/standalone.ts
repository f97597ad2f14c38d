import Fastify, { LogController } from 'fastify'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { BayeuxServerError } from './errors.ts'
import { BayeuxServer } from './server/bayeux-server.ts'
import type { BayeuxOptions } from './server/core.ts'
import type { DrainResult } from './server/drain.ts'
import { CLI_SETTINGS, settingProblems } from './options.ts'
import { bayeuxPlugin } from './plugin.ts'

export interface ServerOptions extends BayeuxOptions {
  /** Interface to listen on; default in CLI_SETTINGS. */
  host?: string
  /** Port to listen on; 0 picks a free one. Default in CLI_SETTINGS. */
  port?: number
  /** fastify's `logger` option (pino), or false. Default: the level in CLI_SETTINGS. */
  logger?: boolean | { level?: string } | FastifyBaseLogger
  /** Serves the demo page at `/` (lib/demo/). Default in CLI_SETTINGS: off. */
  demo?: boolean
  /** ms `shutdown()` drains before it closes. Default in CLI_SETTINGS. */
  shutdownTimeout?: number
}

export interface RunningServer {
  readonly fastify: FastifyInstance
  readonly bayeux: BayeuxServer
  /** The Bayeux URL clients are given, e.g. `http://localhost:8080/cometd`. */
  readonly url: string
  /** Closes at once: held connects are answered, WebSockets closed with 1001. */
  close (): Promise<void>
  /**
   * Drains (`bayeux.drain`) for at most `timeout` ms, default the `shutdownTimeout`
   * option, then closes; what SIGTERM and SIGINT do to bin/bayeux-server.
   */
  shutdown (timeout?: number): Promise<DrainResult>
}

/** Creates a fastify server serving Bayeux and starts listening. */
export async function createServer (options: ServerOptions = {}): Promise<RunningServer> {
  const {
    host = CLI_SETTINGS.host.default,
    port = CLI_SETTINGS.port.default,
    logger = { level: CLI_SETTINGS.logLevel.default },
    demo = CLI_SETTINGS.demo.default,
    shutdownTimeout = CLI_SETTINGS.shutdownTimeout.default,
    ...bayeuxOptions
  } = options
  // Drain and shutdown (issue 12): a bad timeout is an error now, not at shutdown.
  const [problem] = settingProblems({ shutdownTimeout })
  if (problem !== undefined) throw new BayeuxServerError('BAYEUX_ERR_INVALID_OPTIONS', `Invalid options: shutdownTimeout ${problem.message}`)
  const bayeux = new BayeuxServer(bayeuxOptions)
  const fastify = Fastify({
    ...(isLogger(logger) ? { loggerInstance: logger } : { logger }),
    // Every connect is a request: per-request log lines would drown everything else.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: bayeux.options.maxBodySize,
    forceCloseConnections: 'idle'
  })
  await fastify.register(bayeuxPlugin, { bayeux })
  // The demo page (issue 12): loaded only when asked for, so that it costs nothing otherwise.
  if (demo) {
    const { demoPlugin } = await import('./demo/plugin.ts')
    await fastify.register(demoPlugin, { bayeux })
  }
  await fastify.listen({ host, port })
  const address = fastify.server.address()
  const boundPort = typeof address === 'object' && address !== null ? address.port : port
  const shownHost = host.includes(':') ? `[${host}]` : host
  return {
    fastify,
    bayeux,
    url: `http://${shownHost}:${boundPort}${bayeux.options.path}`,
    close: () => closeWithGrace(fastify),
    shutdown: async (timeout = shutdownTimeout) => {
      fastify.log.info({ timeout }, 'draining')
      const result = await bayeux.drain(timeout)
      fastify.log.info(result, result.complete ? 'drained' : 'drain cut short by its timeout')
      await closeWithGrace(fastify)
      return result
    }
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
