// Servers the suite knows how to start with the standard profile.
import { launchCometdNodejsServer } from './cometd-nodejs-server.ts'
import type { Launcher } from './profile.ts'

export const LAUNCHERS: Record<string, Launcher> = {
  'cometd-nodejs-server': launchCometdNodejsServer
}
