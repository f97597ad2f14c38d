// Picks how the real client runs for a transport: in Node, or in headless Chromium for callback-polling.
import { nodeClient, nodeRuntime } from '../scenarios/node-driver.ts'
import type { Transport } from '../trace.ts'
import type { ClientDriver } from './record.ts'

export interface ClosableDriver extends ClientDriver {
  close (): Promise<void>
}

export async function driverFor (transport: Transport): Promise<ClosableDriver> {
  if (transport === 'callback-polling') {
    const { browserAssets, launchBrowserDriver } = await import('../scenarios/browser-driver.ts')
    return { ...await launchBrowserDriver(), assets: browserAssets }
  }
  return {
    runtime: nodeRuntime(),
    create: async (url, type, features) => nodeClient(url, type, features),
    close: async () => {}
  }
}
