import { readFile } from 'node:fs/promises'
import { createSecureContext } from 'node:tls'
import Fastify, { LogController } from 'fastify'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { BayeuxServerError } from './errors.ts'
import type { Logger } from './logger.ts'
import { BayeuxServer } from './server/bayeux-server.ts'
import type { BayeuxOptions } from './server/core.ts'
import type { DrainResult } from './server/drain.ts'
import type { SecurityPolicy } from './server/security.ts'
import { tokenAuth } from './server/token-auth.ts'
import { CLI_SETTINGS, settingProblems, tlsAndTokenProblems } from './options.ts'
import { bayeuxPlugin } from './plugin.ts'
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

/**
 * Creates a fastify server serving Bayeux and starts listening. Rejects with
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
    ...bayeuxOptions
  } = options
  // Drain and shutdown (issue 12): a bad timeout is an error now, not at shutdown.
  const [badTimeout] = settingProblems({ shutdownTimeout })
  if (badTimeout !== undefined) throw new BayeuxServerError('BAYEUX_ERR_INVALID_OPTIONS', `Invalid options: shutdownTimeout ${badTimeout.message}`)
  // TLS and token auth (issue 12).
  const tlsAndToken = { tlsCert, tlsKey, jwtSecret, jwtPublicKey, jwtAudience, jwtIssuer, jwtClockTolerance }
  const [problem] = tlsAndTokenProblems(tlsAndToken)
  if (problem !== undefined) throw new BayeuxServerError('BAYEUX_ERR_INVALID_OPTIONS', `Invalid options: ${problem.setting} ${problem.message}`)
  const https = tlsCert !== undefined && tlsKey !== undefined ? await tlsOptions(tlsCert, tlsKey) : undefined
  const policy = await tokenPolicy(tlsAndToken, bayeuxOptions.policy, () => fastify.log)
  const bayeux = new BayeuxServer({ ...bayeuxOptions, ...(policy !== undefined && { policy }) })
  await setup?.(bayeux)
  const fastify = Fastify({
    ...(isLogger(logger) ? { loggerInstance: logger } : { logger }),
    ...(https !== undefined && { https }),
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
    url: `${https !== undefined ? 'https' : 'http'}://${shownHost}:${boundPort}${bayeux.options.path}`,
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
    logger: { warn: (...args) => log().warn(...args), error: (...args) => log().error(...args), debug: (...args) => log().debug(...args) }
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
