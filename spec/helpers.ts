/** Shared test helpers: a server on a free port, and raw HTTP / WebSocket Bayeux peers. */
import Fastify from 'fastify'
import type { FastifyBaseLogger } from 'fastify'
import { request } from 'undici'
import WebSocket from 'ws'
import { BayeuxServer, bayeuxPlugin, createServer } from '../lib/index.ts'
import type { RunningServer, ServerOptions } from '../lib/index.ts'
import { coreOf } from '../lib/server/bayeux-server.ts'

interface Teardown { teardown (fn: () => unknown): void }

export type Json = Record<string, any>

/** Starts a server on 127.0.0.1 and a free port; it is closed when `t` ends. */
export async function startServer (t: Teardown, options: ServerOptions = {}): Promise<RunningServer> {
  const server = await createServer({ host: '127.0.0.1', port: 0, logger: false, ...options })
  t.teardown(() => server.close())
  return server
}

/**
 * The two ways HTTP requests reach the Bayeux endpoint: the raw listener the standalone
 * server puts in front of fastify, and the plugin's fastify routes (embedding).
 */
export const WAYS_IN = ['standalone', 'plugin'] as const
export type WayIn = (typeof WAYS_IN)[number]

/** A server reached the `way` given: createServer, or a bare fastify app that registered bayeuxPlugin. */
export async function startOver (way: WayIn, t: Teardown, options: ServerOptions = {}): Promise<{ url: string, bayeux: BayeuxServer }> {
  if (way === 'standalone') return startServer(t, options)
  const { logger = false, ...bayeuxOptions } = options
  const app = Fastify(typeof logger === 'object' && 'child' in logger ? { loggerInstance: logger as FastifyBaseLogger } : { logger })
  const bayeux = new BayeuxServer(bayeuxOptions)
  await app.register(bayeuxPlugin, { bayeux })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => {
    // As createServer does: a keep-alive connection that lingers must not hold the close up.
    const grace = setTimeout(() => app.server.closeAllConnections(), 500)
    await app.close()
    clearTimeout(grace)
  })
  const address = app.server.address()
  return { url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}${bayeux.options.path}`, bayeux }
}

export interface HttpAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  /** The parsed body, when it is JSON. */
  messages: Json[]
}

/** A raw HTTP Bayeux peer with a one-cookie jar, for protocol edges. */
export class HttpPeer {
  readonly url: string
  cookie: string | undefined
  clientId: string | undefined
  #nextId = 1

  constructor (url: string) {
    this.url = url
  }

  nextId (): string {
    return String(this.#nextId++)
  }

  /** POSTs `body` (an object is sent as JSON, a string as is) to `url + suffix`. */
  async post (body: unknown, { suffix = '', headers = {} }: { suffix?: string, headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
    const text = typeof body === 'string' ? body : JSON.stringify(body)
    const answer = await request(this.url + suffix, {
      method: 'POST',
      body: text,
      headers: { 'content-type': 'application/json', ...(this.cookie !== undefined && { cookie: this.cookie }), ...headers }
    })
    return this.#read(answer)
  }

  async get (query: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    const answer = await request(`${this.url}${query}`, {
      headers: { ...(this.cookie !== undefined && { cookie: this.cookie }), ...headers }
    })
    return this.#read(answer)
  }

  async handshake (extra: Json = {}): Promise<Json> {
    const [reply] = (await this.post([{ id: this.nextId(), channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], ...extra }])).messages
    this.clientId = reply!['clientId']
    return reply!
  }

  /** Sends one message with this peer's clientId and id; returns every message of the answer. */
  async send (message: Json): Promise<Json[]> {
    const answer = await this.post([{ id: this.nextId(), clientId: this.clientId, ...message }])
    return answer.messages
  }

  /** Handshake plus the first (immediately answered) connect. */
  async connected (extra: Json = {}): Promise<void> {
    await this.handshake(extra)
    await this.send({ channel: '/meta/connect', connectionType: 'long-polling', advice: { timeout: 0 } })
  }

  async #read (answer: Awaited<ReturnType<typeof request>>): Promise<HttpAnswer> {
    const text = await answer.body.text()
    const setCookie = answer.headers['set-cookie']
    if (setCookie !== undefined) this.cookie = String(setCookie).split(';')[0]
    let messages: Json[] = []
    try {
      messages = JSON.parse(text)
    } catch {}
    return { status: answer.statusCode, headers: answer.headers, text, messages }
  }
}

/** A raw WebSocket Bayeux peer: frames are read in order with next(). */
export class WsPeer {
  readonly socket: WebSocket
  clientId: string | undefined
  closed: Promise<{ code: number, reason: string }>
  #frames: Json[][] = []
  #waiting: Array<(frame: Json[]) => void> = []
  #nextId = 1

  private constructor (socket: WebSocket) {
    this.socket = socket
    socket.on('message', data => {
      const frame = JSON.parse(data.toString())
      const waiter = this.#waiting.shift()
      if (waiter !== undefined) waiter(frame)
      else this.#frames.push(frame)
    })
    this.closed = new Promise(resolve => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  }

  static async open (httpUrl: string, options: WebSocket.ClientOptions = {}): Promise<WsPeer> {
    const socket = new WebSocket(httpUrl.replace(/^http/, 'ws'), options)
    await new Promise((resolve, reject) => {
      socket.once('open', resolve)
      socket.once('error', reject)
      socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)))
    })
    return new WsPeer(socket)
  }

  nextId (): string {
    return String(this.#nextId++)
  }

  sendRaw (data: string): void {
    this.socket.send(data)
  }

  send (message: Json): string {
    const id = this.nextId()
    this.socket.send(JSON.stringify([{ id, clientId: this.clientId, ...message }]))
    return id
  }

  /** The next frame from the server. */
  next (): Promise<Json[]> {
    const frame = this.#frames.shift()
    if (frame !== undefined) return Promise.resolve(frame)
    return new Promise(resolve => this.#waiting.push(resolve))
  }

  /** Reads frames until one holds a message for which `match` is true; returns that message. */
  async until (match: (message: Json) => boolean): Promise<Json> {
    for (;;) {
      const found = (await this.next()).find(match)
      if (found !== undefined) return found
    }
  }

  async handshake (): Promise<Json> {
    this.socket.send(JSON.stringify([{ id: this.nextId(), channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['websocket'] }]))
    const reply = await this.until(m => m['channel'] === '/meta/handshake')
    this.clientId = reply['clientId']
    return reply
  }

  async connected (): Promise<void> {
    await this.handshake()
    const id = this.send({ channel: '/meta/connect', connectionType: 'websocket', advice: { timeout: 0 } })
    await this.until(m => m['id'] === id)
  }

  close (): void {
    this.socket.close()
  }
}

export interface LogLine { level: string, object: unknown, message: unknown }

/** A pino-compatible logger that records what it is given, to assert on logging. */
export class RecordingLogger {
  readonly level = 'info'
  readonly lines: LogLine[] = []
  readonly trace = this.#record('trace')
  readonly debug = this.#record('debug')
  readonly info = this.#record('info')
  readonly warn = this.#record('warn')
  readonly error = this.#record('error')
  readonly fatal = this.#record('fatal')
  readonly silent = (): void => {}

  child (): this {
    return this
  }

  /** The lines logged at `level`. */
  at (level: string): LogLine[] {
    return this.lines.filter(line => line.level === level)
  }

  #record (level: string) {
    return (object: unknown, message?: unknown): void => { this.lines.push({ level, object, message }) }
  }
}

/** Resolves after `ms` milliseconds. */
export function delay (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/** Ends a session as its expiry would, without waiting for it. */
export function expireSession (bayeux: BayeuxServer, id: string): void {
  const registry = coreOf(bayeux).registry
  registry.remove(registry.get(id)!, 'expired')
}
