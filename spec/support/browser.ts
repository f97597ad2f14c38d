/** Headless Chromium running the real CometD client from a page on another origin. */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, normalize } from 'node:path'
import Fastify from 'fastify'
import { chromium } from 'playwright-core'
import type { Browser } from 'playwright-core'

interface BrowserTest {
  teardown (fn: () => unknown): void
  fail (message: string): unknown
  skip (name: string, fn: () => void): unknown
}

const CHROMIUM = '/usr/bin/chromium'

/**
 * Launches Chromium, closed when `t` ends. Without it the test is skipped, except in
 * CI (.ci/run installs it), where a missing browser is a failure; undefined then.
 */
export async function launchChromium (t: BrowserTest): Promise<Browser | undefined> {
  if (!existsSync(CHROMIUM)) {
    if (process.env['CI'] === 'true') t.fail(`${CHROMIUM} is missing`)
    else t.skip(`no ${CHROMIUM} (apt-get install -y chromium)`, () => {})
    return undefined
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
  })
  t.teardown(() => browser.close())
  return browser
}

/**
 * Serves, on its own origin, a page that runs `script` as a module; the page imports
 * the cometd package's ESM files from `/cometd-lib/` (e.g. `/cometd-lib/cometd.js`).
 * Returns the page URL; the server closes when `t` ends.
 */
export async function serveCometdPage (t: Pick<BrowserTest, 'teardown'>, script: string): Promise<string> {
  const cometdDir = dirname(createRequire(import.meta.url).resolve('cometd'))
  const app = Fastify()
  t.teardown(() => app.close())
  app.get('/cometd-lib/*', async (request, reply) => {
    const file = normalize((request.params as { '*': string })['*'])
    if (file.startsWith('..') || !file.endsWith('.js')) return reply.code(404).send()
    return reply.type('text/javascript').send(await readFile(join(cometdDir, file)))
  })
  app.get('/', async (_request, reply) => reply.type('text/html').send(`<!doctype html><script type="module">${script}</script>`))
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address() as { port: number }
  return `http://127.0.0.1:${address.port}/`
}

/**
 * The opening of a page script for `serveCometdPage`: `cometd`, the real client set up
 * for `bayeuxUrl` over callback-polling only, with the AckExtension when `ack`, and a
 * backoff of its own when given. What the page does with it follows.
 */
export function callbackPollingClient (bayeuxUrl: string, { ack = false, backoffIncrement }: { ack?: boolean, backoffIncrement?: number } = {}): string {
  return `
import { AckExtension, CometD } from '/cometd-lib/cometd.js'
const cometd = new CometD()
cometd.unregisterTransport('websocket')
cometd.unregisterTransport('long-polling')
${ack ? "cometd.registerExtension('ack', new AckExtension())" : ''}
cometd.configure({ url: ${JSON.stringify(bayeuxUrl)}, logLevel: 'warn' })
${backoffIncrement === undefined ? '' : `cometd.setBackoffIncrement(${backoffIncrement})`}
`
}
