// Launches this project's server (lib/) in-process with the standard profile.
import { createRequire } from 'node:module'
import { createServer, type RunningServer as LibServer } from '../../lib/index.ts'
import { readOracle } from '../replay/server-reads.ts'
import type { ServerOptions } from '../trace.ts'
import { ECHO_CHANNEL, KICK_CHANNEL, isForbidden, type Launcher } from './profile.ts'

const require = createRequire(import.meta.url)
const { version } = require('../../package.json') as { version: string }

/** The server itself (fastify and protocol core), for tests that reach into it. */
export async function startBayeuxServer (options: ServerOptions): Promise<LibServer> {
  const server = await createServer({
    host: '127.0.0.1',
    port: 0,
    logger: false,
    allowedOrigins: ['*'],
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

export const launchBayeuxServer: Launcher = async options => {
  const server = await startBayeuxServer(options)
  return { name: 'bayeux-server', version, url: server.url, hasRead: readOracle(server.fastify.server), close: () => server.close() }
}
