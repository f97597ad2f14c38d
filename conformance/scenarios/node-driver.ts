// Runs the CometD JS client in this Node process through cometd-nodejs-client (long-polling, websocket).
import { createRequire } from 'node:module'
import * as library from 'cometd'
import { adapt } from 'cometd-nodejs-client'
import { ReplayExtension } from '../../lib/client/replay.ts'
import type { Transport } from '../trace.ts'
import { ClientHarness, type Client, type ClientFeatures, type CometDLibrary } from './harness.ts'

const require = createRequire(import.meta.url)

/** sessionStorage for the reload extension: one "tab" per process is all the scenarios need. */
class MemoryStorage {
  #items = new Map<string, string>()
  getItem (key: string): string | null { return this.#items.get(key) ?? null }
  setItem (key: string, value: string): void { this.#items.set(key, value) }
  removeItem (key: string): void { this.#items.delete(key) }
}

/** Cookie jar per host:port, so that a client never inherits cookies from an earlier recording. */
class CookieJars {
  #jars = new Map<string, Map<string, string>>()
  storeCookie = (uri: URL, header: string, done: () => void): void => {
    const pair = (header.split(';')[0] ?? '').trim()
    const equal = pair.indexOf('=')
    if (equal > 0) this.#jar(uri).set(pair.slice(0, equal), pair)
    done()
  }

  retrieveCookies = (_context: unknown, uri: URL, done: (failure: null, cookies: string[]) => void): void => {
    done(null, [...this.#jar(uri).values()])
  }

  #jar (uri: URL): Map<string, string> {
    let jar = this.#jars.get(uri.host)
    if (jar === undefined) this.#jars.set(uri.host, jar = new Map())
    return jar
  }
}

let adapted = false

function adaptOnce (): void {
  if (adapted) return
  adapt({ cookies: new CookieJars() } as never)
  const window = (globalThis as unknown as { window: Record<string, unknown> }).window
  window.sessionStorage = new MemoryStorage()
  adapted = true
}

export const nodeRuntime = (): string => {
  const { version } = require('cometd-nodejs-client/package.json') as { version: string }
  return `node ${process.version} + cometd-nodejs-client ${version}`
}

export function nodeClient (url: string, transport: Transport, features: ClientFeatures): Client {
  adaptOnce()
  return new ClientHarness({ ...library, ReplayExtension } as unknown as CometDLibrary, url, transport, features)
}
