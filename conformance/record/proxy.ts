// Recording proxy: sits between real clients and a real Bayeux server on loopback and writes every
// HTTP exchange and WebSocket frame, in order, with timing and the client/connection it belongs to.
// Each client gets its own listener on its own loopback host (127.0.0.2, 127.0.0.3, ...) so that
// per-host cookie jars stay apart and the proxy knows which client sent what.
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import type { HttpStep, Message, TraceStep } from '../trace.ts'
import { cookieNames, parseJsonp, parseMessages, setCookiePairs } from '../wire.ts'

type ResponseFilter = (request: Message[], response: Message[]) => boolean

interface Gate { open: Promise<void>, release: () => void }

/** Files served (not recorded) by the proxy itself, e.g. the page hosting a browser client. */
export type Assets = (path: string) => Promise<{ type: string, body: string } | undefined>

/** Path prefix under which the proxy serves assets instead of relaying. */
export const ASSET_PREFIX = '/__conformance/'

export class RecordingProxy {
  #target: URL
  #start = performance.now()
  #steps: TraceStep[] = []
  #servers: http.Server[] = []
  #sockets = new Set<Socket>()
  #connections = new WeakMap<object, number>()
  #nextConnection = 1
  #inFlight = new Set<Promise<void>>()
  #gates = new Map<string, Gate>()
  #drops: Array<{ client: string, filter: ResponseFilter, done: () => void }> = []
  #wsServer = new WebSocketServer({ noServer: true })
  #assets: Assets | undefined

  constructor (target: string, assets?: Assets) {
    this.#target = new URL(target)
    this.#assets = assets
  }

  /** Opens a listener for one more client and returns the Bayeux URL that client must use. */
  async addClient (label: string): Promise<string> {
    const host = `127.0.0.${this.#servers.length + 2}`
    const server = http.createServer((request, response) => { this.#track(this.#relayHttp(label, request, response)) })
    server.on('upgrade', (request, socket) => { this.#relayUpgrade(label, request, socket as Socket) })
    server.on('connection', socket => { this.#sockets.add(socket); socket.on('close', () => this.#sockets.delete(socket)) })
    await new Promise<void>(resolve => server.listen(0, host, resolve))
    this.#servers.push(server)
    const { port } = server.address() as AddressInfo
    return `http://${host}:${port}${this.#target.pathname}`
  }

  /** Holds every request and frame the client sends until the returned function is called. */
  partition (client: string): () => void {
    let release = (): void => {}
    const open = new Promise<void>(resolve => { release = resolve })
    this.#gates.set(client, { open, release })
    return () => { this.#gates.delete(client); release() }
  }

  /** Cuts off the next response to `client` matching `filter`, as if the network lost it. */
  dropResponse (client: string, filter: ResponseFilter): Promise<void> {
    return new Promise(resolve => this.#drops.push({ client, filter, done: resolve }))
  }

  /** Waits for exchanges still in flight (bounded), then returns the steps in order. */
  async finish (graceMs: number): Promise<TraceStep[]> {
    await Promise.race([Promise.all([...this.#inFlight]), new Promise(resolve => setTimeout(resolve, graceMs))])
    return this.#steps.map((step, index) => ({ ...step, step: index }))
  }

  async close (): Promise<void> {
    for (const client of this.#wsServer.clients) client.terminate()
    for (const socket of this.#sockets) socket.destroy()
    await Promise.all(this.#servers.map(server => new Promise(resolve => server.close(resolve))))
  }

  #now (): number {
    return Math.round((performance.now() - this.#start) * 1000) / 1000
  }

  #track (work: Promise<void>): void {
    this.#inFlight.add(work)
    void work.finally(() => this.#inFlight.delete(work))
  }

  #connectionOf (socket: object): number {
    let id = this.#connections.get(socket)
    if (id === undefined) {
      id = this.#nextConnection++
      this.#connections.set(socket, id)
    }
    return id
  }

  async #gate (client: string): Promise<void> {
    for (let gate = this.#gates.get(client); gate !== undefined; gate = this.#gates.get(client)) await gate.open
  }

  async #relayHttp (client: string, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    if (this.#assets !== undefined && request.url?.startsWith(ASSET_PREFIX) === true) {
      const asset = await this.#assets(request.url.slice(ASSET_PREFIX.length).split('?')[0] ?? '')
      if (asset === undefined) response.writeHead(404).end()
      else response.writeHead(200, { 'content-type': asset.type }).end(asset.body)
      return
    }
    if (request.url?.startsWith(this.#target.pathname) !== true) {
      response.writeHead(404).end()
      return
    }
    const body = await readBody(request)
    await this.#gate(client)
    const url = new URL(request.url ?? '/', 'http://recorder')
    const jsonp = url.searchParams.get('jsonp') ?? undefined
    const messages = request.method === 'GET'
      ? url.searchParams.getAll('message').flatMap(text => parseMessages(text) ?? [])
      : parseMessages(body) ?? []
    const step: HttpStep = {
      step: 0,
      kind: 'http',
      client,
      connection: this.#connectionOf(request.socket),
      at: this.#now(),
      request: {
        method: request.method === 'GET' ? 'GET' : 'POST',
        path: url.pathname,
        ...(jsonp !== undefined && { jsonp }),
        cookies: cookieNames(request.headers.cookie),
        messages
      },
      response: { status: 0, contentType: null, setCookies: [], messages: null },
      completedAt: 0
    }
    this.#steps.push(step)
    const upstream = await forward(this.#target, request, body).catch(() => null)
    step.completedAt = this.#now()
    if (upstream === null) {
      request.socket.destroy()
      return
    }
    const text = upstream.body.toString('utf8')
    const parsed = jsonp === undefined ? { messages: parseMessages(text) } : parseJsonp(text)
    step.response = {
      status: upstream.status,
      contentType: upstream.headers['content-type'] ?? null,
      setCookies: setCookiePairs(upstream.headers['set-cookie']).map(([name]) => name),
      ...(parsed !== null && 'callback' in parsed && { callback: parsed.callback }),
      messages: parsed?.messages ?? null
    }
    if (response.destroyed || this.#takeDrop(client, messages, step.response.messages ?? [])) {
      step.dropped = true
      request.socket.destroy()
      return
    }
    response.writeHead(upstream.status, upstream.headers)
    response.end(upstream.body)
  }

  #takeDrop (client: string, request: Message[], response: Message[]): boolean {
    const index = this.#drops.findIndex(drop => drop.client === client && drop.filter(request, response))
    if (index < 0) return false
    const [drop] = this.#drops.splice(index, 1)
    drop?.done()
    return true
  }

  #relayUpgrade (client: string, request: http.IncomingMessage, socket: Socket): void {
    const url = new URL(request.url ?? '/', this.#target)
    url.protocol = this.#target.protocol === 'https:' ? 'wss:' : 'ws:'
    url.host = this.#target.host
    const upstream = new WebSocket(url)
    upstream.once('unexpected-response', (_req, res) => {
      socket.end(`HTTP/1.1 ${res.statusCode ?? 502} Upstream Refused\r\nConnection: close\r\n\r\n`)
      upstream.terminate()
    })
    upstream.once('error', () => socket.destroy())
    upstream.once('open', () => {
      this.#wsServer.handleUpgrade(request, socket, Buffer.alloc(0), downstream => {
        this.#bridge(client, request.url ?? '/', downstream, upstream)
      })
    })
  }

  #bridge (client: string, path: string, downstream: WebSocket, upstream: WebSocket): void {
    const connection = this.#connectionOf(downstream)
    const base = { step: 0, client, connection }
    this.#steps.push({ ...base, kind: 'ws-open', at: this.#now(), path: new URL(path, 'http://x').pathname })
    let closed = false
    const close = (by: 'client' | 'server', code: number, reason: Buffer): void => {
      if (closed) return
      closed = true
      this.#steps.push({ ...base, kind: 'ws-close', at: this.#now(), by, code, reason: reason.toString('utf8') })
      const other = by === 'client' ? upstream : downstream
      if (code === 1000 || (code >= 3000 && code < 5000) || code === 1001 || code === 1011) other.close(code, reason)
      else other.terminate()
    }
    let pending = Promise.resolve()
    downstream.on('message', (data: RawData) => {
      pending = pending.then(async () => {
        await this.#gate(client)
        this.#steps.push({ ...base, kind: 'ws-send', at: this.#now(), messages: parseMessages(data.toString()) ?? [] })
        if (upstream.readyState === WebSocket.OPEN) upstream.send(data.toString())
      })
    })
    upstream.on('message', (data: RawData) => {
      this.#steps.push({ ...base, kind: 'ws-receive', at: this.#now(), messages: parseMessages(data.toString()) ?? [] })
      if (downstream.readyState === WebSocket.OPEN) downstream.send(data.toString())
    })
    downstream.on('close', (code, reason) => close('client', code, reason))
    upstream.on('close', (code, reason) => close('server', code, reason))
    downstream.on('error', () => downstream.terminate())
    upstream.on('error', () => upstream.terminate())
  }
}

function readBody (request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    request.on('error', reject)
  })
}

interface Upstream { status: number, headers: http.IncomingHttpHeaders, body: Buffer }

function forward (target: URL, request: http.IncomingMessage, body: string): Promise<Upstream> {
  const headers = { ...request.headers, host: target.host }
  delete headers['content-length']
  delete headers['transfer-encoding']
  return new Promise((resolve, reject) => {
    const outgoing = http.request({
      host: target.hostname,
      port: target.port,
      method: request.method,
      path: request.url,
      headers: { ...headers, ...(body !== '' && { 'content-length': Buffer.byteLength(body) }) }
    }, incoming => {
      const chunks: Buffer[] = []
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
      incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: Buffer.concat(chunks) }))
      incoming.on('error', reject)
    })
    outgoing.on('error', reject)
    outgoing.end(body)
  })
}
