// Launches this project's server (lib/) in-process with the standard profile.
import { createRequire } from 'node:module'
import { createServer } from '../../lib/index.ts'
import { ECHO_CHANNEL, KICK_CHANNEL, isForbidden, type Launcher } from './profile.ts'

const require = createRequire(import.meta.url)
const { version } = require('../../package.json') as { version: string }

export const launchBayeuxServer: Launcher = async options => {
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
  return { name: 'bayeux-server', version, url: server.url, close: () => server.close() }
}
