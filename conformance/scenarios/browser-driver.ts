// Runs the CometD JS client in headless Chromium (callback-polling, i.e. JSONP). Each client is a
// page served by the recording proxy itself, so the page and the Bayeux URL share an origin and
// the browser sends the BAYEUX_BROWSER cookie as it would in production.
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import ts from 'typescript'
import { ASSET_PREFIX, type Assets } from '../record/proxy.ts'
import type { Transport } from '../trace.ts'
import type { Client, ClientFeatures } from './harness.ts'

const require = createRequire(import.meta.url)
const COMETD_DIRECTORY = dirname(require.resolve('cometd/package.json'))
const HARNESS_SOURCE = new URL('./harness.ts', import.meta.url)
/** The replay extension runs in the page as users would ship it: the module alone, no server code. */
const REPLAY_SOURCE = new URL('../../lib/client/replay.ts', import.meta.url)

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']

const PAGE = `<!doctype html><meta charset="utf-8"><title>conformance client</title>
<script type="module">
import * as cometd from './cometd/cometd.js'
import { ReplayExtension } from './replay.js'
import { ClientHarness } from './harness.js'
const { url, transport, features } = JSON.parse(new URLSearchParams(location.search).get('config'))
window.harness = new ClientHarness({ ...cometd, ReplayExtension }, url, transport, features)
</script>`

/** The page, the CometD library files and the harness, transpiled for the browser. */
export const browserAssets: Assets = async path => {
  if (path === 'index.html') return { type: 'text/html', body: PAGE }
  const source = path === 'harness.js' ? HARNESS_SOURCE : path === 'replay.js' ? REPLAY_SOURCE : undefined
  if (source !== undefined) {
    const { outputText } = ts.transpileModule(await readFile(source, 'utf8'), { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } })
    return { type: 'text/javascript', body: outputText }
  }
  const match = /^cometd\/([A-Za-z0-9]+\.js)$/.exec(path)
  if (match === null) return undefined
  return { type: 'text/javascript', body: await readFile(join(COMETD_DIRECTORY, match[1] as string), 'utf8') }
}

type Method = keyof Client

/** Forwards every Client call to the harness inside the page. */
function remoteClient (page: Page): Client {
  const call = (method: Method) => (...args: unknown[]) =>
    page.evaluate(([name, values]) => (globalThis as unknown as { harness: Record<string, (...a: unknown[]) => unknown> }).harness[name as string]?.(...(values as unknown[])), [method, args] as const)
  const client = Object.fromEntries((['handshake', 'connected', 'subscribe', 'unsubscribe', 'publish', 'publishBinary', 'remoteCall', 'batch', 'disconnect', 'reload', 'received', 'metaReplies', 'clientId', 'replayIds'] as Method[]).map(method => [method, call(method)]))
  return {
    ...client,
    stop: async () => {
      await call('stop')().catch(() => undefined)
      await page.close()
    }
  } as unknown as Client
}

export interface BrowserDriver {
  runtime: string
  create (url: string, transport: Transport, features: ClientFeatures): Promise<Client>
  close (): Promise<void>
}

export async function launchBrowserDriver (): Promise<BrowserDriver> {
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
  const contexts = new Map<string, BrowserContext>()
  return {
    runtime: `chromium ${browser.version()} (headless)`,
    async create (url, transport, features) {
      const origin = new URL(url).origin
      // One browser context (cookie jar) per client host, as one browser per client.
      let context = contexts.get(origin)
      if (context === undefined) contexts.set(origin, context = await browser.newContext())
      const page = await context.newPage()
      const config = encodeURIComponent(JSON.stringify({ url, transport, features }))
      await page.goto(`${origin}${ASSET_PREFIX}index.html?config=${config}`)
      await page.waitForFunction(() => 'harness' in globalThis)
      return remoteClient(page)
    },
    close: () => browser.close()
  }
}
