// Launches the reference CometD server for Node (long-polling only) with the standard profile.
import http from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import type { CometDServer, ServerMessage, ServerSession } from 'cometd-nodejs-server'
import { ECHO_CHANNEL, KICK_CHANNEL, isForbidden, type Launcher } from './profile.ts'

const require = createRequire(import.meta.url)
const cometd = require('cometd-nodejs-server') as typeof import('cometd-nodejs-server')
const { AcknowledgedMessagesExtension } = require('cometd-nodejs-server/ack-extension.js') as typeof import('cometd-nodejs-server/ack-extension.js')
const { version } = require('cometd-nodejs-server/package.json') as { version: string }

/** `ServerSession._deliver` is the only way to deliver a full message (with `id`) to one session. */
interface DeliveringSession extends ServerSession {
  _deliver (sender: ServerSession | null, message: ServerMessage, callback: () => void): void
}

type Done = (failure?: Error, result?: boolean) => void

function installProfile (server: CometDServer): void {
  server.addExtension(new AcknowledgedMessagesExtension() as never)
  server.policy = {
    canSubscribe: (_session, _message, channel, done: Done) => done(undefined, !isForbidden(channel.name)),
    canPublish: (_session, _message, channel, done: Done) => done(undefined, !isForbidden(channel.name))
  }
  server.createServerChannel(ECHO_CHANNEL).addListener('message', (session: DeliveringSession, _channel: unknown, message: ServerMessage, done: Done) => {
    session._deliver(null, { channel: ECHO_CHANNEL, id: message.id, data: message.data, successful: true }, () => done())
  })
  server.createServerChannel(KICK_CHANNEL).addListener('message', (session: ServerSession, _channel: unknown, _message: ServerMessage, done: Done) => {
    done()
    setImmediate(() => session.disconnect())
  })
}

export const launchCometdNodejsServer: Launcher = async options => {
  const server = cometd.createCometDServer({ timeout: options.timeout, interval: options.interval, maxInterval: options.maxInterval })
  installProfile(server)
  const httpServer = http.createServer((request, response) => {
    if (request.url?.startsWith(options.path) === true) server.handle(request, response)
    else response.writeHead(404).end()
  })
  await new Promise<void>(resolve => httpServer.listen(0, '127.0.0.1', resolve))
  const { port } = httpServer.address() as AddressInfo
  return {
    name: 'cometd-nodejs-server',
    version,
    url: `http://127.0.0.1:${port}${options.path}`,
    close: async () => {
      server.close()
      httpServer.closeAllConnections()
      await new Promise(resolve => httpServer.close(resolve))
    }
  }
}
