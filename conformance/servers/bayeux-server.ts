// Launches this project's server (lib/) in-process with the standard profile.
import { createRequire } from 'node:module'
import { createServer, type RunningServer as LibServer } from '../../lib/index.ts'
import { readOracle } from '../replay/server-reads.ts'
import type { ServerOptions } from '../trace.ts'
import { ECHO_CHANNEL, HISTORY_PREFIX, KICK_CHANNEL, isForbidden, type Launcher, type RunningServer } from './profile.ts'

const require = createRequire(import.meta.url)
const { version } = require('../../package.json') as { version: string }

/**
 * The server itself (fastify and protocol core), for tests that reach into it. `history: false`
 * leaves the optional replay extension out (history off), as a server without it would be.
 */
export async function startBayeuxServer (options: ServerOptions, { history = true } = {}): Promise<LibServer> {
  const server = await createServer({
    host: '127.0.0.1',
    port: 0,
    logger: false,
    allowedOrigins: ['*'],
    history: history ? [`${HISTORY_PREFIX}/**`] : [],
    ...options,
    policy: {
      canSubscribe: (_session, channel) => !isForbidden(channel),
      canPublish: (_session, channel) => !isForbidden(channel)
    }
  })
  server.bayeux.listen(ECHO_CHANNEL, message => message.data)
  server.bayeux.listen(KICK_CHANNEL, (_message, session) => { setImmediate(() => session?.disconnect()) })
  return server
}

export const launchBayeuxServer: Launcher = async options => describe(await startBayeuxServer(options))

/** This server with history off: the replay traces must fail against it, and only those. */
export const launchBayeuxServerWithoutHistory: Launcher = async options => describe(await startBayeuxServer(options, { history: false }))

function describe (server: LibServer): RunningServer {
  return { name: 'bayeux-server', version, url: server.url, hasRead: readOracle(server.fastify.server), close: () => server.close() }
}
