import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocket, WebSocketServer } from 'ws'
import type { RawData } from 'ws'
import { serializeBatch } from '../protocol/outgoing-event.ts'
import type { OutgoingEvent } from '../protocol/outgoing-event.ts'
import type { Reply } from '../protocol/message.ts'
import type { PushLink } from '../server/link.ts'
import { parseEnvelope } from './envelope.ts'
import type { Refusal } from './envelope.ts'
import { basePath } from './paths.ts'
import { TransportLink } from './transport-link.ts'
import type { MountContext, Transport } from './transport.ts'
import { textFrame } from './websocket-frame.ts'

/**
 * Close codes (RFC 6455 §7.4.1): the peer's faults get the code naming the fault;
 * 1011 is kept for the server's own failures.
 */
const CLOSE_GOING_AWAY = 1001
const CLOSE_UNSUPPORTED_DATA = 1003
const CLOSE_INVALID_PAYLOAD = 1007
const CLOSE_POLICY = 1008
const CLOSE_SERVER_ERROR = 1011
/** How long, in ms, peers get to answer the close handshake at shutdown. */
const SHUTDOWN_GRACE = 1_000
/** ws reports an oversized message with this code (and closes with 1009 itself). */
const WS_TOO_BIG = 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'

/**
 * Upgrade headers whose values repeat from one client to the next. A socket keeps its
 * upgrade's headers for the policy: one copy of each such value serves
 * every socket. Credentials and per-connection values (cookie, key) are never shared.
 */
const REPEATED_HEADERS = new Set(['host', 'connection', 'upgrade', 'origin', 'user-agent', 'pragma', 'cache-control',
  'accept-encoding', 'accept-language', 'sec-websocket-version', 'sec-websocket-extensions'])
/** Distinct values shared at most; the table starts over when full. */
const SHARED_VALUES = 1024
const sharedValues = new Map<string, string>()

/** Replaces the values of `headers` that an earlier upgrade had by its copy of them. */
function shareRepeatedValues (headers: IncomingHttpHeaders): IncomingHttpHeaders {
  for (const name of REPEATED_HEADERS) {
    const value = headers[name]
    if (typeof value !== 'string') continue
    const shared = sharedValues.get(value)
    if (shared !== undefined) {
      headers[name] = shared
      continue
    }
    if (sharedValues.size >= SHARED_VALUES) sharedValues.clear()
    sharedValues.set(value, value)
  }
  return headers
}

/** What a socket that keeps no headers shows: nothing reads them. */
const NO_HEADERS: IncomingHttpHeaders = Object.freeze({})

/**
 * What few sockets need, made on first use, in one field: the upgrade's headers (kept
 * only for a policy that reads them), what a backlog waits on, the end.
 */
class SocketExtras {
  headers: IncomingHttpHeaders | undefined = undefined
  /** Listeners waiting for a backlog to be written out, and the write callback that tells them. */
  drainListeners: Array<() => void> | undefined = undefined
  written: (() => void) | undefined = undefined
  ending = false
}

/**
 * One WebSocket as the protocol core sees it: a push link (docs/protocol.md §5.4). Its
 * payloads go out as frames made here and written to the socket's stream, one write each:
 * a broadcast event is framed once for all its subscribers, where ws would frame it
 * again for each and write header and payload apart. ws reads the socket, answers pings
 * and closes; its own frames go to the same stream, whole, so frames never interleave.
 * Its helpers are static: a private instance method would cost every link a slot.
 */
class WebSocketLink extends TransportLink implements PushLink {
  readonly #socket: WebSocket
  /** The upgraded connection under #socket, which ws writes its own frames to. */
  readonly #stream: Duplex
  readonly #highWaterMark: number
  readonly #remoteAddress: string | undefined
  #extras: SocketExtras | undefined
  /** Payloads of one socket are processed in order, so its publishes stay in order; none in progress, none kept. */
  #queue: Promise<void> | undefined
  /** Payloads enqueued and not processed yet. */
  #inProgress = 0

  constructor (socket: WebSocket, stream: Duplex, request: IncomingMessage, cookieName: string, highWaterMark: number, keepHeaders: boolean) {
    super(request.headers, cookieName)
    this.#socket = socket
    this.#stream = stream
    this.#highWaterMark = highWaterMark
    this.#remoteAddress = request.socket.remoteAddress
    if (keepHeaders) WebSocketLink.#extrasOf(this).headers = shareRepeatedValues(request.headers)
  }

  get headers (): IncomingHttpHeaders {
    return this.#extras?.headers ?? NO_HEADERS
  }

  get remoteAddress (): string | undefined {
    return this.#remoteAddress
  }

  // Getters rather than fields: the same for every link, so no session pays for them.
  get kind (): 'push' {
    return 'push'
  }

  get transport (): 'websocket' {
    return 'websocket'
  }

  get backlogged (): boolean {
    return this.#socket.bufferedAmount > this.#highWaterMark
  }

  /**
   * Answers a payload: every server frame is a JSON array (C93). A method, bound for each
   * payload: an idle link keeps no closure, only a held connect keeps its binding.
   */
  respond (events: readonly OutgoingEvent[], replies: readonly Reply[]): void {
    if (events.length + replies.length > 0) WebSocketLink.#send(this, textFrame(serializeBatch(events, replies)))
  }

  push (events: readonly OutgoingEvent[]): void {
    // The common case, one event per tick, reuses the frame made for every subscriber.
    WebSocketLink.#send(this, events.length === 1 ? events[0]!.alone(textFrame) : textFrame(serializeBatch(events, [])))
  }

  onDrain (listener: () => void): void {
    (WebSocketLink.#extrasOf(this).drainListeners ??= []).push(listener)
  }

  enqueue (work: () => Promise<void> | undefined): void {
    this.#inProgress++
    this.#queue = this.#queue === undefined ? WebSocketLink.#run(this, work) : this.#queue.then(async () => await WebSocketLink.#run(this, work))
  }

  /** The last payload in progress lets the queue go: an idle socket keeps no settled promise. */
  static async #run (link: WebSocketLink, work: () => Promise<void> | undefined): Promise<void> {
    try {
      await work()
    } finally {
      if (--link.#inProgress === 0) link.#queue = undefined
    }
  }

  /** Drain and shutdown: closes with 1001 once the payloads in progress (publishes) are answered. */
  end (): void {
    if (this.closed || this.#extras?.ending === true) return
    WebSocketLink.#extrasOf(this).ending = true
    const close = (): void => {
      // Frames go out in order: the events and replies written before come first.
      this.#socket.close(CLOSE_GOING_AWAY, 'Server shutting down')
      this.gone()
    }
    void Promise.resolve(this.#queue).then(close)
  }

  /** Closed by the peer, or let go by the server: for the core the link is gone. */
  gone (): void {
    if (this.#extras !== undefined) this.#extras.drainListeners = undefined
    this.peerClosed()
  }

  static #send (link: WebSocketLink, frame: Buffer): void {
    // Closing (by either side) or closed: ws sends nothing more after its close frame either.
    if (link.#socket.readyState !== WebSocket.OPEN) return
    // Only a frame that crosses the high-water mark needs to report when it is written.
    const watch = link.#socket.bufferedAmount + frame.length > link.#highWaterMark
    link.#stream.write(frame, watch ? (WebSocketLink.#extrasOf(link).written ??= () => WebSocketLink.#written(link)) : undefined)
  }

  static #extrasOf (link: WebSocketLink): SocketExtras {
    return (link.#extras ??= new SocketExtras())
  }

  static #written (link: WebSocketLink): void {
    const listeners = link.#extras?.drainListeners
    if (link.backlogged || listeners === undefined) return
    link.#extras!.drainListeners = undefined
    for (const listener of listeners) listener()
  }
}

/** A socket that knows its link, so that one set of listeners serves every socket. */
class BayeuxSocket extends WebSocket {
  declare link: WebSocketLink
}

/** ws types listeners' `this` as the base class; every socket of this server is a BayeuxSocket. */
const linkOf = (socket: WebSocket): WebSocketLink => (socket as BayeuxSocket).link

/** The close code for a frame that cannot be a batch: too many messages is a policy limit, the rest bad data. */
function closeCodeOf (refusal: Refusal): number {
  return refusal.reason === 'too_many_messages' ? CLOSE_POLICY : CLOSE_INVALID_PAYLOAD
}

/**
 * `websocket`: accepts upgrades on `<path>` and `<path>/` (no subprotocol needed,
 * C88, A23), refuses origins the allowlist does not name, and feeds each text frame
 * to the core as one batch.
 */
export const websocket: Transport<'websocket'> = {
  name: 'websocket',
  mount (context) {
    return context.host.options.transports.includes('websocket') ? serveWebSockets(context) : undefined
  }
}

function serveWebSockets ({ fastify, host, origins }: MountContext): () => Promise<void> {
  const { options } = host
  const server = fastify.server
  // A register() prefix moves the HTTP routes: the socket is on the same URL (docs/protocol.md §8).
  const base = basePath(fastify.prefix + options.path)
  const paths = new Set([base || '/', `${base}/`])
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxBodySize, perMessageDeflate: false, WebSocket: BayeuxSocket })

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const query = request.url?.indexOf('?') ?? -1
    const pathname = query >= 0 ? request.url!.slice(0, query) : request.url ?? ''
    if (!paths.has(pathname)) {
      // Another upgrade handler of the embedding app may want it; answer only if none.
      if (server.listenerCount('upgrade') === 1) refuseUpgrade(socket, 404, 'Not Found')
      return
    }
    if (!origins.allows(request.headers.origin, request.headers)) {
      const source = { transport: 'websocket', remoteAddress: request.socket.remoteAddress }
      host.badInput(source, 'origin_not_allowed', 'origin not allowed', { origin: request.headers.origin })
      refuseUpgrade(socket, 403, 'Forbidden')
      return
    }
    wss.handleUpgrade(request, socket, head, ws => {
      // Headers are kept only for a policy that can read them: a socket lives long, and most servers have none.
      const link = new WebSocketLink(ws, socket, request, options.browserCookieName, options.websocketHighWaterMark, host.readsHeaders)
      ;(ws as BayeuxSocket).link = link
      ws.on('message', onMessage).on('error', onError).on('close', onClose)
    })
  }

  // The same three listeners serve every socket (`this`): no closures per connection.
  function onMessage (this: WebSocket, data: RawData, isBinary: boolean): void {
    const link = linkOf(this)
    if (isBinary) {
      host.badInput(link, 'binary_frame', 'binary frame')
      this.close(CLOSE_UNSUPPORTED_DATA, 'Binary frames are not supported')
      return
    }
    const envelope = parseEnvelope(data.toString(), options.maxMessagesPerBatch)
    if (!envelope.ok) {
      host.badInput(link, envelope.reason, envelope.message)
      // CometD closes on a frame it cannot parse (C94); the reason fits in a close frame.
      this.close(closeCodeOf(envelope), envelope.message.slice(0, 120))
      return
    }
    link.enqueue(() => host.process(envelope.batch, link, link.respond.bind(link))?.catch(error => {
      host.log.error({ err: error }, 'failed to process a WebSocket payload')
      this.close(CLOSE_SERVER_ERROR, 'Internal error')
    }))
  }

  // ws reports oversized or malformed frames here, then closes the socket itself (1009, 1002).
  function onError (this: WebSocket, error: Error & { code?: string }): void {
    host.badInput(linkOf(this), error.code === WS_TOO_BIG ? 'too_large' : 'websocket_protocol', error.message)
  }

  function onClose (this: WebSocket): void {
    linkOf(this).gone()
  }

  server.on('upgrade', onUpgrade)

  return async () => {
    server.off('upgrade', onUpgrade)
    const closing = [...wss.clients].map(ws => new Promise<void>(resolve => {
      ws.once('close', () => resolve())
      ws.close(CLOSE_GOING_AWAY, 'Server shutting down')
    }))
    // A peer that does not answer the close handshake promptly is cut off.
    const grace = setTimeout(() => { for (const ws of wss.clients) ws.terminate() }, SHUTDOWN_GRACE)
    await Promise.all(closing)
    clearTimeout(grace)
    wss.close()
  }
}

function refuseUpgrade (socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}
