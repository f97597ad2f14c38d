// Servers the suite knows how to start with the standard profile.
import { launchBayeuxServer } from './bayeux-server.ts'
import { launchCometdNodejsServer } from './cometd-nodejs-server.ts'
import { launchFaye } from './faye.ts'
import type { Launcher } from './profile.ts'

export const LAUNCHERS: Record<string, Launcher> = {
  'bayeux-server': launchBayeuxServer,
  'cometd-nodejs-server': launchCometdNodejsServer,
  faye: launchFaye
}
