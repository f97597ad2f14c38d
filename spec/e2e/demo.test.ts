/**
 * The demo page (lib/demo/, `--demo`, issue 12): nothing of it without the setting;
 * with it, the page and the cometd package's files, figures published over Bayeux,
 * and in headless Chromium two pages chatting over each transport, with what users
 * type kept as text. Screenshots go to .tmp/demo-<transport>.png.
 */
import t from 'tap'
import { mkdir, readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { Client, request } from 'undici'
import { CLI_SETTINGS } from '../../lib/options.ts'
import { createServer } from '../../lib/standalone.ts'
import type { RunningServer, ServerSession } from '../../lib/index.ts'
import { HttpPeer, RecordingLogger, startServer } from '../helpers.ts'
import { launchChromium } from '../support/browser.ts'
import { readOptions } from '../support/cli-options.ts'
import { serveCli } from '../support/cli-process.ts'
import { disconnect, handshake, newClient, publish, subscribe } from './clients/cometd.ts'

// Each test has servers and a browser of its own, and waits on them (Chromium starting,
// figures published once a second): all at once.
t.jobs = 8

const root = fileURLToPath(new URL('../..', import.meta.url))
const SCREENSHOTS = new URL('../../.tmp/', import.meta.url)
const TRANSPORTS = ['websocket', 'long-polling', 'callback-polling'] as const

/** The page of `server`, with `?transport=` when given. */
function pageOf (server: RunningServer, transport?: string): string {
  const url = new URL('/', server.url)
  if (transport !== undefined) url.searchParams.set('transport', transport)
  return url.href
}

async function get (url: string): Promise<{ status: number, headers: Record<string, string | string[] | undefined>, text: string }> {
  const answer = await request(url)
  return { status: answer.statusCode, headers: answer.headers, text: await answer.body.text() }
}

t.test('off by default: no page, no files, no listener on the server', async t => {
  t.equal(CLI_SETTINGS.demo.default, false)
  t.same(readOptions([], {}), {}, 'the CLI passes nothing unless asked')
  t.same(readOptions(['--demo'], {}), { demo: true })
  t.same(readOptions([], { BAYEUX_DEMO: 'true' }), { demo: true })
  const server = await startServer(t)
  t.equal((await get(pageOf(server))).status, 404, 'GET /')
  t.equal((await get(new URL('/demo/cometd/cometd.js', server.url).href)).status, 404)
  t.same(server.bayeux.eventNames(), [], 'nothing counts events for figures')
  const peer = new HttpPeer(server.url)
  await peer.connected()
  const [reply] = await peer.send({ channel: '/demo/stats', data: { sessions: 1e6 } })
  t.match(reply, { successful: true }, 'the stats channel is an ordinary channel')
})

t.test('the page: stable ids, the endpoint given to its script, locked-down headers', async t => {
  const server = await startServer(t, { demo: true, path: '/bayeux' })
  const page = await get(pageOf(server))
  t.equal(page.status, 200)
  t.match(page.headers['content-type'], /^text\/html; charset=utf-8$/)
  t.equal(page.headers['x-content-type-options'], 'nosniff')
  t.match(page.headers['content-security-policy'], /default-src 'self'/)
  for (const id of ['message', 'send', 'log', 'transport', 'stats', 'endpoint', 'snippet']) {
    t.match(page.text, new RegExp(`id="${id}"`), `#${id}`)
  }
  const config = /data-config="([^"]*)"/.exec(page.text)![1]!.replaceAll('&#34;', '"')
  t.same(JSON.parse(config), {
    path: '/bayeux',
    transports: ['websocket', 'long-polling', 'callback-polling'],
    chat: '/demo/chat',
    stats: '/demo/stats'
  })
  const script = await get(new URL('/demo/demo.js', server.url).href)
  t.equal(script.status, 200)
  t.match(script.headers['content-type'], /^text\/javascript/)
  t.match(script.text, /from '\.\/cometd\/cometd\.js'/)
  t.equal((await get(new URL('/demo/demo.css', server.url).href)).status, 200)
})

t.test('the cometd client comes from the npm package, and nothing else from its folder', async t => {
  const server = await startServer(t, { demo: true })
  const main = createRequire(import.meta.url).resolve('cometd')
  const served = await get(new URL('/demo/cometd/cometd.js', server.url).href)
  t.equal(served.status, 200)
  t.match(served.headers['content-type'], /^text\/javascript/)
  t.equal(served.text, await readFile(main, 'utf8'))
  t.equal((await get(new URL('/demo/cometd/WebSocketTransport.js', server.url).href)).status, 200, 'the modules it imports')
  const raw = new Client(new URL(server.url).origin)
  t.teardown(() => raw.close())
  for (const path of ['/demo/cometd/package.json', '/demo/cometd/cometd.d.ts', '/demo/cometd/../../package.json', '/demo/cometd/nope.js', '/demo/index.html', '/demo/']) {
    // Sent as written: a URL object would resolve the dots before they reach the server.
    const answer = await raw.request({ method: 'GET', path })
    await answer.body.dump()
    t.equal(answer.statusCode, 404, path)
  }
})

t.test('a ?transport= the server does not offer is HTTP 400 naming the choices, logged once at warn', async t => {
  const log = new RecordingLogger()
  const server = await startServer(t, { demo: true, transports: ['websocket', 'long-polling'], logger: log as never })
  const cases: Array<[string, RegExp]> = [
    ['?transport=carrier-pigeon', /^transport not offered: "carrier-pigeon"; this server offers websocket, long-polling$/],
    ['?transport=callback-polling', /^transport not offered: "callback-polling"/],
    ['?transport=', /^transport not offered: ""/],
    ['?transport=websocket&transport=long-polling', /^give at most one transport$/],
    [`?transport=${'x'.repeat(5000)}`, /^transport not offered: "x{100}"; this server/]
  ]
  for (const [query, message] of cases) {
    log.lines.length = 0
    const answer = await get(new URL(`/${query}`, server.url).href)
    t.equal(answer.status, 400, query.slice(0, 60))
    t.match(answer.headers['content-type'], /^text\/plain/, 'never served as a page')
    t.match(answer.text.trim(), message)
    t.equal(log.at('warn').length, 1, 'one warning')
  }
  t.equal((await get(pageOf(server, 'long-polling'))).status, 200, 'an offered transport is fine')
})

t.test('the figures come over Bayeux every second: sessions, channels, messages per second', async t => {
  const server = await startServer(t, { demo: true })
  const client = newClient(server.url, 'long-polling')
  t.teardown(() => disconnect(client))
  await handshake(client)
  const figures: Array<Record<string, number>> = []
  const waiters: Array<() => void> = []
  await subscribe(client, '/demo/stats', message => {
    figures.push(message.data)
    for (const wake of waiters.splice(0)) wake()
  })
  /** Waits for figures at an index `find` gives (not -1), and returns it. */
  const until = async (find: () => number): Promise<number> => {
    for (;;) {
      const index = find()
      if (index >= 0) return index
      await new Promise<void>(resolve => waiters.push(resolve))
    }
  }
  await subscribe(client, '/demo/chat', () => {})
  const refused = await publish(client, '/demo/stats', { sessions: 1e6 })
  t.match(refused, { successful: false, error: /^403:/ }, 'clients cannot publish figures')

  for (let i = 0; i < 3; i++) await publish(client, '/demo/chat', { user: 'node', text: `hello ${i}` })
  const busy = await until(() => figures.findIndex(data => data['messagesPerSecond']! > 0))
  t.match(figures[busy], { sessions: 1, channels: 2 }, 'one session, on the stats and the chat channels')
  t.same(Object.keys(figures[busy]!).sort(), ['channels', 'messagesPerSecond', 'sessions'])
  await until(() => figures.findIndex((data, index) => index > busy && data['messagesPerSecond'] === 0))
  t.pass('a quiet second shows 0: the figures do not count themselves')
})

t.test('the demo needs / and /demo/ left to it: a clashing --path is a usage error', async t => {
  t.throws(() => readOptions(['--demo', '--path', '/'], {}), { message: /^--demo: the demo page needs \/, which the Bayeux path "\/" takes/ })
  t.throws(() => readOptions(['--path', '/demo/bayeux'], { BAYEUX_DEMO: 'true' }), { message: /^--demo: the demo serves its files under \/demo\// })
  t.same(readOptions(['--path', '/'], {}), { path: '/' }, 'without the demo, / is a fine path')
  await t.rejects(createServer({ host: '127.0.0.1', port: 0, logger: false, demo: true, path: '/' }), { code: 'BAYEUX_ERR_INVALID_OPTIONS', message: /demo: the demo page needs \// }, 'createServer refuses it too, before listening')
})

// bin/bayeux-server runs dist/: `npm run build` first when running this file alone.
t.test('bin/bayeux-server --demo serves the page from dist/; a clashing path exits 2 before listening', async t => {
  const clash = serveCli(t, ['--demo', '--path', '/'])
  const running = serveCli(t, ['--demo'])
  t.same(await clash.exited, { code: 2, signal: null })
  t.match(clash.stderr(), /--demo: the demo page needs \//)
  t.equal(clash.stdout(), '', 'nothing listened')

  const url = await running.line(/^bayeux-server: demo page at (\S+)$/m)
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/, 'the CLI says where the page is')
  const page = await get(url)
  t.equal(page.status, 200)
  t.match(page.text, /id="send"/)
  t.equal((await get(new URL('/demo/demo.js', url).href)).status, 200, 'the page files are found from dist/')
  running.child.kill('SIGTERM')
  t.same(await running.exited, { code: 0, signal: null })

  const packageJson = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'))
  t.match(packageJson.scripts.start, /--demo/, '`npm start` shows the demo')
  t.ok(packageJson.dependencies.cometd, 'the served client is a runtime dependency')
  t.notOk(packageJson.devDependencies.cometd)
})

/** One visitor of the demo page, in a browser context of their own (cookies included). */
interface Visitor {
  readonly page: Page
  readonly errors: string[]
  readonly name: string
}

async function visit (t: { teardown (fn: () => unknown): void }, browser: Browser, url: string): Promise<Visitor> {
  const context = await browser.newContext({ viewport: { width: 900, height: 1100 } })
  t.teardown(() => context.close())
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', error => errors.push(error.message))
  page.on('console', message => { if (message.type() === 'error') errors.push(message.text()) })
  await page.goto(url)
  await page.waitForSelector('#send:enabled')
  await page.waitForFunction(() => document.getElementById('status')!.textContent === 'connected')
  return { page, errors, name: (await page.textContent('#name'))! }
}

/** Types `text` into the page and sends it, with the button or with Enter. */
async function say (visitor: Visitor, text: string, how: 'click' | 'enter'): Promise<void> {
  await visitor.page.fill('#message', text)
  if (how === 'click') await visitor.page.click('#send')
  else await visitor.page.press('#message', 'Enter')
}

/** Waits for the `count`th line of the page's #log; returns its author and text. */
async function line (visitor: Visitor, count: number): Promise<{ who: string, text: string }> {
  await visitor.page.waitForFunction(n => document.querySelectorAll('#log li').length >= n, count)
  const item = visitor.page.locator('#log li').nth(count - 1)
  return { who: (await item.locator('.who').textContent())!, text: (await item.locator('.text').textContent())! }
}

t.test('in Chromium, two pages chat over each transport (?transport=), showing it, with live figures', async t => {
  const browser = await launchChromium(t)
  if (browser === undefined) return
  await mkdir(SCREENSHOTS, { recursive: true })
  for (const transport of TRANSPORTS) {
    await t.test(transport, async t => {
      const server = await startServer(t, { demo: true })
      const sessions: ServerSession[] = []
      server.bayeux.on('handshake', session => sessions.push(session))
      const alice = await visit(t, browser, pageOf(server, transport))
      const bob = await visit(t, browser, pageOf(server, transport))
      for (const visitor of [alice, bob]) {
        await visitor.page.waitForFunction(want => document.getElementById('transport')!.textContent === want, transport)
        t.equal(await visitor.page.textContent('#transport'), transport, `${visitor.name} shows ${transport}`)
      }

      await say(alice, `hello over ${transport}`, 'click')
      t.same(await line(bob, 1), { who: alice.name, text: `hello over ${transport}` }, 'bob reads alice')
      await say(bob, 'hi alice', 'enter')
      t.same(await line(alice, 2), { who: bob.name, text: 'hi alice' }, 'alice reads bob, after her own line')
      t.equal(await alice.page.inputValue('#message'), '', 'the input is cleared once sent')

      t.equal(sessions.length, 2)
      t.same(sessions.map(session => session.transport), [transport, transport], 'the server saw only that transport')
      await bob.page.waitForFunction(() => document.getElementById('stats-sessions')!.textContent === '2')
      t.equal(await bob.page.textContent('#stats-channels'), '2', 'the chat and the stats channels')
      await line(bob, 2)
      await bob.page.screenshot({ path: fileURLToPath(new URL(`demo-${transport}.png`, SCREENSHOTS)), fullPage: true })
      t.same([...alice.errors, ...bob.errors], [], 'no script error, no refused request (CSP)')
    })
  }
})

t.test('in Chromium, what users type stays text: no markup reaches #log', async t => {
  const browser = await launchChromium(t)
  if (browser === undefined) return
  const server = await startServer(t, { demo: true })
  const alice = await visit(t, browser, pageOf(server))
  const bob = await visit(t, browser, pageOf(server))
  t.equal(await bob.page.textContent('#transport'), 'websocket', 'without ?transport=, the client picks WebSocket')

  const hostile = '<img src=x onerror="window.injected = true"><b>bold</b>'
  await say(alice, hostile, 'click')
  t.same(await line(bob, 1), { who: alice.name, text: hostile }, 'shown as typed')
  await server.bayeux.publish('/demo/chat', { user: '<i>server</i>', text: 42 })
  t.same(await line(bob, 2), { who: '<i>server</i>', text: '{"user":"<i>server</i>","text":42}' }, 'odd data is shown as JSON text')
  await server.bayeux.publish('/demo/chat', '<script>window.injected = true</script>')
  t.same(await line(bob, 3), { who: 'someone', text: '"<script>window.injected = true</script>"' })
  t.equal(await bob.page.locator('#log img, #log b, #log i, #log script').count(), 0, 'no element was made from a message')
  t.equal(await bob.page.evaluate(() => (window as any).injected), undefined, 'nothing ran')
  t.same([...alice.errors, ...bob.errors], [])
})
