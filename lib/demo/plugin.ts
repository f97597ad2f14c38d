import { readFile, readdir } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { BayeuxServerError } from '../errors.ts'
import type { BayeuxServer } from '../server/bayeux-server.ts'
import { CHAT_CHANNEL, DEMO_FILES, DEMO_PAGE, STATS_CHANNEL, demoPathConflict } from './paths.ts'
import { DemoStats } from './stats.ts'

export interface DemoPluginOptions {
  readonly bayeux: BayeuxServer
  /** ms between two publishes of the figures on the stats channel. */
  readonly statsInterval?: number
}

/**
 * The page's own files. They are not compiled, so they stay in lib/ (which the package
 * ships); this path leads there both from lib/demo/ and from dist/demo/.
 */
const PAGE_DIR = fileURLToPath(new URL('../../lib/demo/page/', import.meta.url))

/** Headers of everything the demo serves: its files are only ever what they say they are. */
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  // Scripts, styles and connections (XHR, WebSocket, JSONP scripts) only from this server:
  // even a message that slipped past the page's escaping could not run anything. The cometd
  // client runs its timers in a worker it makes from a blob; the page's icon is empty data.
  'content-security-policy': "default-src 'self'; worker-src 'self' blob:; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer'
}

/** Longest part of a bad query value that goes to the log. */
const LOGGED_LENGTH = 100

/**
 * The demo (`--demo`): a page at `/` with a live chat over the real CometD client,
 * which this server serves itself, and figures the server publishes every second.
 * Register it next to `bayeuxPlugin`; until then, nothing of it exists.
 */
export async function demoPlugin (fastify: FastifyInstance, options: DemoPluginOptions): Promise<void> {
  const { bayeux, statsInterval = 1000 } = options
  const { path, transports } = bayeux.options
  const conflict = demoPathConflict(path)
  if (conflict !== undefined) throw new BayeuxServerError('BAYEUX_ERR_INVALID_OPTIONS', `Invalid options: demo: ${conflict}`)

  const config = { path, transports, chat: CHAT_CHANNEL, stats: STATS_CHANNEL }
  const page = (await readFile(join(PAGE_DIR, 'index.html'), 'utf8')).replace('{{config}}', escapeHtml(JSON.stringify(config)))
  const files = new Map<string, { type: string, body: Buffer }>([
    ['demo.js', { type: 'text/javascript; charset=utf-8', body: await readFile(join(PAGE_DIR, 'demo.js')) }],
    ['demo.css', { type: 'text/css; charset=utf-8', body: await readFile(join(PAGE_DIR, 'demo.css')) }],
    ...await cometdFiles()
  ])

  fastify.get(DEMO_PAGE, (request: FastifyRequest<{ Querystring: { transport?: string | string[] } }>, reply: FastifyReply) => {
    const problem = transportProblem(request.query.transport, transports)
    if (problem !== undefined) {
      fastify.log.warn({ remoteAddress: request.ip, transport: String(request.query.transport).slice(0, LOGGED_LENGTH) }, `demo page: ${problem}`)
      return reply.code(400).type('text/plain; charset=utf-8').headers(SECURITY_HEADERS).send(`${problem}\n`)
    }
    return reply.type('text/html; charset=utf-8').headers(SECURITY_HEADERS).header('cache-control', 'no-cache').send(page)
  })
  fastify.get(`${DEMO_FILES}/*`, (request: FastifyRequest<{ Params: { '*': string } }>, reply: FastifyReply) => {
    const file = files.get(request.params['*'])
    if (file === undefined) return reply.code(404).type('text/plain; charset=utf-8').send('Not Found\n')
    return reply.type(file.type).headers(SECURITY_HEADERS).header('cache-control', 'no-cache').send(file.body)
  })

  // Only the server speaks on the stats channel: a client's publish there is refused (403).
  const unauthorize = bayeux.authorize(STATS_CHANNEL, { canPublish: () => false })
  const stats = new DemoStats(bayeux, STATS_CHANNEL, performance.now())
  const timer = setInterval(() => {
    bayeux.publish(STATS_CHANNEL, stats.take(performance.now()))
      .catch(error => fastify.log.error({ err: error }, 'demo: publishing the figures failed'))
  }, statsInterval).unref()
  fastify.addHook('preClose', async () => {
    clearInterval(timer)
    stats.stop()
    unauthorize()
  })
}

/** Why the page cannot force the transport `given` (its `?transport=`), or undefined if it can. */
function transportProblem (given: string | string[] | undefined, offered: readonly string[]): string | undefined {
  if (given === undefined) return undefined
  if (Array.isArray(given)) return 'give at most one transport'
  if (offered.includes(given)) return undefined
  return `transport not offered: ${JSON.stringify(given.slice(0, LOGGED_LENGTH))}; this server offers ${offered.join(', ')}`
}

/** The cometd package's ES modules, served as `cometd/<file>` next to the page's script. */
async function cometdFiles (): Promise<Array<[string, { type: string, body: Buffer }]>> {
  const dir = dirname(createRequire(import.meta.url).resolve('cometd'))
  const names = (await readdir(dir)).filter(name => name.endsWith('.js'))
  return Promise.all(names.map(async name => [`cometd/${name}`, { type: 'text/javascript; charset=utf-8', body: await readFile(join(dir, name)) }] as [string, { type: string, body: Buffer }]))
}

function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, char => `&#${char.charCodeAt(0)};`)
}
