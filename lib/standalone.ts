import { readFile } from 'node:fs/promises'
import { createSecureContext } from 'node:tls'
import Fastify, { LogController } from 'fastify'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { BayeuxServerError } from './errors.ts'
import type { Logger } from './logger.ts'
import { mountHealthAndMetrics } from './observability/health.ts'
import { loggerOptions } from './observability/logging.ts'
import type { LogFormat } from './observability/logging.ts'
import { BayeuxServer, coreOf } from './server/bayeux-server.ts'
import type { BayeuxOptions } from './server/core.ts'
import type { DrainResult } from './server/drain.ts'
import type { SecurityPolicy } from './server/security.ts'
import { tokenAuth } from './server/token-auth.ts'
import { CLI_SETTINGS, settingProblems, combinationProblems } from './options.ts'
import { serveBayeux } from './plugin.ts'
import { RawWayIn } from './transports/http-raw.ts'
import { RedisEngine } from './engines/redis.ts'
import type { MaybePromise } from './types.ts'

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
  // TLS and token auth (issue 12): settings of the CLI table (lib/options.ts).
  /** PEM certificate (chain) file; with `tlsKey`, serves HTTPS and WSS. */
  tlsCert?: string
  /** PEM private key file of `tlsCert`. */
  tlsKey?: string
  /** Handshakes need a token signed with this HS256 secret (tokenAuth); not with `jwtPublicKey`. */
  jwtSecret?: string
  /** Handshakes need a token signed by the key of this PEM file: RSA (RS256) or P-256 (ES256). */
  jwtPublicKey?: string
  /** The `aud` tokens must have. */
  jwtAudience?: string
  /** The `iss` tokens must have. */
  jwtIssuer?: string
  /** ms of clock skew allowed on a token's `exp` and `nbf`; default 0. */
  jwtClockTolerance?: number
  /**
   * Called with the new BayeuxServer before it serves, to add listeners, authorizers and
   * extensions (bin/bayeux-server's `--require` modules); if it rejects, nothing listens.
   */
  setup?: (bayeux: BayeuxServer) => MaybePromise<void>
  /** How a logger made from a level writes: `pretty`, `json`, or `auto` (pretty on a terminal, the default). */
  logFormat?: LogFormat
  /** Serves Prometheus metrics at `/metrics`. Default false. */
  metrics?: boolean
  /** Serves `/metrics` and the health probes on this port of `host` instead of `port`; implies `metrics`. 0 picks a free one. */
  metricsPort?: number
  /** A Redis URL: the engine is a RedisEngine on it (unless `engine` is given). */
  redis?: string
  /** The RedisEngine's key prefix; default in CLI_SETTINGS. */
  redisPrefix?: string
  /** `redis` is a node of a Redis Cluster; default false. */
  redisCluster?: boolean
  /** On a Redis Cluster, the buses publishes spread over (RedisEngineOptions.buses); default in CLI_SETTINGS. */
  redisBuses?: number
}

export interface RunningServer {
  readonly fastify: FastifyInstance
  readonly bayeux: BayeuxServer
  /** The Bayeux URL clients are given, e.g. `http://localhost:8080/cometd`. */
  readonly url: string
  /** Closes at once: held connects are answered, WebSockets closed with 1001. */
  /** Where Prometheus scrapes, e.g. `http://localhost:9464/metrics`; undefined without metrics. */
  readonly metricsUrl: string | undefined
  close (): Promise<void>
  /**
   * Drains (`bayeux.drain`) for at most `timeout` ms, default the `shutdownTimeout`
   * option, then closes; what SIGTERM and SIGINT do to bin/bayeux-server.
   */
  shutdown (timeout?: number): Promise<DrainResult>
}

/**
 * Creates a fastify server serving Bayeux and the health probes (`/health/live`,
 * `/health/ready`), with metrics if asked, and starts listening. Rejects with
 * BAYEUX_ERR_INVALID_OPTIONS or BAYEUX_ERR_UNUSABLE_KEY before listening.
 */
export async function createServer (options: ServerOptions = {}): Promise<RunningServer> {
  const {
    host = CLI_SETTINGS.host.default,
    port = CLI_SETTINGS.port.default,
    logger = { level: CLI_SETTINGS.logLevel.default },
    demo = CLI_SETTINGS.demo.default,
    shutdownTimeout = CLI_SETTINGS.shutdownTimeout.default,
    tlsCert, tlsKey, jwtSecret, jwtPublicKey, jwtAudience, jwtIssuer, jwtClockTolerance,
    setup,
    logFormat = CLI_SETTINGS.logFormat.default,
    metrics: withMetrics = CLI_SETTINGS.metrics.default,
    metricsPort,
    redis, redisPrefix = CLI_SETTINGS.redisPrefix.default, redisCluster = CLI_SETTINGS.redisCluster.default, redisBuses = CLI_SETTINGS.redisBuses.default,
    ...bayeuxOptions
  } = options
  // Drain and shutdown (issue 12): a bad timeout is an error now, not at shutdown.
  const [badTimeout] = settingProblems({ shutdownTimeout })
  if (badTimeout !== undefined) throw new BayeuxServerError('BAYEUX_ERR_INVALID_OPTIONS', `Invalid options: shutdownTimeout ${badTimeout.message}`)
  // TLS and token auth (issue 12).
  const tlsAndToken = { tlsCert, tlsKey, jwtSecret, jwtPublicKey, jwtAudience, jwtIssuer, jwtClockTolerance }
  const [problem] = combinationProblems(tlsAndToken)
  if (problem !== undefined) throw new BayeuxServerError('BAYEUX_ERR_INVALID_OPTIONS', `Invalid options: ${problem.setting} ${problem.message}`)
  const https = tlsCert !== undefined && tlsKey !== undefined ? await tlsOptions(tlsCert, tlsKey) : undefined
  const policy = await tokenPolicy(tlsAndToken, bayeuxOptions.policy, () => fastify.log)
  const engine = bayeuxOptions.engine ?? (redis === undefined ? undefined : new RedisEngine({ url: redis, prefix: redisPrefix, cluster: redisCluster, buses: redisBuses }))
  const bayeux = new BayeuxServer({ ...bayeuxOptions, ...(policy !== undefined && { policy }), ...(engine !== undefined && { engine }) })
  await setup?.(bayeux)
  const fastify = Fastify({
    ...(isLogger(logger) ? { loggerInstance: logger } : { logger: await formatted(logger, logFormat) }),
    ...(https !== undefined && { https }),
    ...QUIET_AND_PROMPT,
    bodyLimit: bayeux.options.maxBodySize
  })
  // Bayeux requests skip fastify's per-request work (issue 13); fastify serves the rest.
  const rawWayIn = new RawWayIn(fastify)
  await fastify.register(async instance => {
    rawWayIn.serve(await serveBayeux(instance, bayeux))
  })
  // The demo page (issue 12): loaded only when asked for, so that it costs nothing otherwise.
  if (demo) {
    const { demoPlugin } = await import('./demo/plugin.ts')
    await fastify.register(demoPlugin, { bayeux })
  }

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
  const closeAll = async (): Promise<void> => {
    await closeWithGrace(fastify)
    // Last, so that probes answer "not ready" while the main listener closes.
    if (probes !== fastify) await closeWithGrace(probes)
    metrics?.close()
  }
  return {
    fastify,
    bayeux,
    url: urlOf(fastify, host, bayeux.options.path, https !== undefined),
    metricsUrl: metrics === undefined ? undefined : urlOf(probes, host, '/metrics', false),
    close: closeAll,
    shutdown: async (timeout = shutdownTimeout) => {
      fastify.log.info({ timeout }, 'draining')
      const result = await bayeux.drain(timeout)
      fastify.log.info(result, result.complete ? 'drained' : 'drain cut short by its timeout')
      await closeAll()
      return result
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
function urlOf (fastify: FastifyInstance, host: string, path: string, secure: boolean): string {
  const address = fastify.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : -1
  return `${secure ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}${path}`
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

/**
 * With jwtSecret or jwtPublicKey, the policy of tokenAuth, asking `policy` after the token;
 * refused tokens are logged by fastify's logger, made once the Bayeux options are known.
 */
async function tokenPolicy (settings: ServerOptions, policy: SecurityPolicy | undefined, log: () => Logger): Promise<SecurityPolicy | undefined> {
  const { jwtSecret, jwtPublicKey, jwtAudience, jwtIssuer, jwtClockTolerance } = settings
  if (jwtSecret === undefined && jwtPublicKey === undefined) return undefined
  return tokenAuth({
    ...(jwtSecret !== undefined ? { secret: jwtSecret } : { publicKey: (await readKeyFile('jwtPublicKey', jwtPublicKey!)).toString() }),
    ...(jwtAudience !== undefined && { audience: jwtAudience }),
    ...(jwtIssuer !== undefined && { issuer: jwtIssuer }),
    ...(jwtClockTolerance !== undefined && { clockTolerance: jwtClockTolerance }),
    ...(policy !== undefined && { policy }),
    logger: { info: (...args) => log().info(...args), warn: (...args) => log().warn(...args), error: (...args) => log().error(...args), debug: (...args) => log().debug(...args) }
  })
}

/** The certificate and key, checked to be usable together before anything listens. */
async function tlsOptions (certFile: string, keyFile: string): Promise<{ cert: Buffer, key: Buffer }> {
  const [cert, key] = await Promise.all([readKeyFile('tlsCert', certFile), readKeyFile('tlsKey', keyFile)])
  try {
    createSecureContext({ cert, key })
  } catch (error) {
    throw new BayeuxServerError('BAYEUX_ERR_UNUSABLE_KEY', `tlsCert ${certFile} and tlsKey ${keyFile} are not a usable certificate and key: ${(error as Error).message}`, { cause: error })
  }
  return { cert, key }
}

async function readKeyFile (setting: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file)
  } catch (error) {
    throw new BayeuxServerError('BAYEUX_ERR_UNUSABLE_KEY', `${setting}: cannot read ${file}: ${(error as Error).message}`, { cause: error })
  }
}

function isLogger (value: unknown): value is FastifyBaseLogger {
  return typeof value === 'object' && value !== null && typeof (value as FastifyBaseLogger).child === 'function'
}
