// Launches a Faye server (all its transports) for comparison. Faye has no remote-call responder,
// server-side disconnect or acknowledge extension, so only the policy part of the profile applies:
// an incoming extension refuses /forbidden/ channels.
import http from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { isForbidden, type Launcher } from './profile.ts'

const require = createRequire(import.meta.url)

interface FayeMessage { channel: string, subscription?: string, error?: string }
interface FayeAdapter {
  attach (server: http.Server): void
  addExtension (extension: { incoming (message: FayeMessage, callback: (message: FayeMessage) => void): void }): void
  close (): void
}
const faye = require('faye') as { NodeAdapter: new (options: { mount: string, timeout: number }) => FayeAdapter }
const { version } = require('faye/package.json') as { version: string }

export const launchFaye: Launcher = async options => {
  const adapter = new faye.NodeAdapter({ mount: options.path, timeout: options.timeout / 1000 })
  adapter.addExtension({
    incoming (message, callback) {
      const target = message.channel === '/meta/subscribe' ? message.subscription ?? '' : message.channel
      if (isForbidden(target)) message.error = `403:${target}:Forbidden channel`
      callback(message)
    }
  })
  const server = http.createServer((_request, response) => response.writeHead(404).end())
  adapter.attach(server)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    name: 'faye',
    version,
    url: `http://127.0.0.1:${port}${options.path}`,
    close: async () => {
      adapter.close()
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
  }
}
