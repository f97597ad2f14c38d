import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocket, WebSocketServer } from 'ws'
import type { RawData } from 'ws'
import { serializeBatch } from '../protocol/event.ts'
import type { Event } from '../protocol/event.ts'
import type { Reply } from '../protocol/message.ts'
import type { BayeuxServer } from '../server/bayeux-server.ts'
import type { Link } from '../server/link.ts'
import { parseEnvelope } from './envelope.ts'
import { basePath } from './paths.ts'
import { TransportLink } from './transport-link.ts'
import type { OriginPolicy } from './origin.ts'

/** Close codes (RFC 6455) this transport uses. */
const CLOSE_GOING_AWAY = 1001
const CLOSE_UNSUPPORTED = 1003
const CLOSE_PROTOCOL = 1011
/** Payloads are JSON text, whether given as a string or as encoded bytes. */
const TEXT_FRAME = { binary: false }
/** How long, in ms, peers get to answer the close handshake at shutdown. */
const SHUTDOWN_GRACE = 1_000

/** One WebSocket as the protocol core sees it: a persistent link (BAYEUX.md §5.4). */
class WebSocketLink extends TransportLink implements Link {
  readonly transport = 'websocket'
  readonly persistent = true
  readonly #socket: WebSocket
  readonly #highWaterMark: number
  /** Made on first use, like the write callback: most sockets are never backlogged. */
  #drainListeners: Array<() => void> | undefined
  #onWritten: (() => void) | undefined
  /** Payloads of one socket are processed in order, so its publishes stay in order. */
  #queue: Promise<void> | undefined

  constructor (socket: WebSocket, request: IncomingMessage, cookieName: string, highWaterMark: number) {
    super(request.headers, request.socket.remoteAddress, cookieName)
    this.#socket = socket
    this.#highWaterMark = highWaterMark
  }

  get backlogged (): boolean {
    return this.#socket.bufferedAmount > this.#highWaterMark
  }

  /** Answers a payload: every server frame is a JSON array (C93). */
  readonly respond = (events: readonly Event[], replies: readonly Reply[]): void => {
    if (events.length + replies.length > 0) this.#send(serializeBatch(events, replies))
  }

  push (events: readonly Event[]): void {
    // The common case, one event per tick, reuses the payload encoded for every subscriber.
    this.#send(events.length === 1 ? events[0]!.payload : serializeBatch(events, []))
  }

  onDrain (listener: () => void): void {
    (this.#drainListeners ??= []).push(listener)
  }

  enqueue (work: () => Promise<void>): void {
    this.#queue = this.#queue === undefined ? work() : this.#queue.then(work)
  }

  closedByPeer (): void {
    this.#drainListeners = undefined
    this.peerClosed()
  }

  #send (data: string | Buffer): void {
    if (this.closed) return
    // Only a frame that crosses the high-water mark needs to report when it is written.
    const watch = this.#socket.bufferedAmount + data.length > this.#highWaterMark
    this.#socket.send(data, TEXT_FRAME, watch ? (this.#onWritten ??= () => this.#written()) : undefined)
  }

  #written (): void {
    const listeners = this.#drainListeners
    if (this.backlogged || listeners === undefined) return
    this.#drainListeners = undefined
    for (const listener of listeners) listener()
  }
}

/** A socket that knows its link, so that one set of listeners serves every socket. */
class BayeuxSocket extends WebSocket {
  declare link: WebSocketLink
}

/** ws types listeners' `this` as the base class; every socket of this server is a BayeuxSocket. */
const linkOf = (socket: WebSocket): WebSocketLink => (socket as BayeuxSocket).link

/**
 * Accepts WebSocket upgrades on `<path>` and `<path>/` (no subprotocol needed, C88,
 * A23), refuses origins the allowlist does not name, and feeds each text frame to the
 * core as one batch. `path` is the full URL path (the HTTP routes' prefix included).
 * Returns a function that closes every socket.
 */
export function attachWebSocket (server: Server, bayeux: BayeuxServer, origins: OriginPolicy, path = bayeux.options.path): () => Promise<void> {
  const { options } = bayeux
  const base = basePath(path)
  const paths = new Set([base || '/', `${base}/`])
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxBodySize, perMessageDeflate: false, WebSocket: BayeuxSocket })

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const query = request.url?.indexOf('?') ?? -1
    const pathname = query >= 0 ? request.url!.slice(0, query) : request.url ?? ''
    if (!paths.has(pathname)) {
      // Another upgrade handler of the embedding app may want it; answer only if none.
      if (server.listenerCount('upgrade') === 1) refuse(socket, 404, 'Not Found')
      return
    }
    const source = { transport: 'websocket', remoteAddress: request.socket.remoteAddress }
    if (!origins.allows(request.headers.origin, request.headers)) {
      bayeux.badInput(source, 'origin not allowed', { origin: request.headers.origin })
      refuse(socket, 403, 'Forbidden')
      return
    }
    wss.handleUpgrade(request, socket, head, ws => {
      (ws as BayeuxSocket).link = new WebSocketLink(ws, request, options.browserCookieName, options.websocketHighWaterMark)
      ws.on('message', onMessage).on('error', onError).on('close', onClose)
    })
  }

  // The same three listeners serve every socket (`this`): no closures per connection.
  function onMessage (this: WebSocket, data: RawData, isBinary: boolean): void {
    const link = linkOf(this)
    if (isBinary) {
      bayeux.badInput(link, 'binary frame')
      this.close(CLOSE_UNSUPPORTED, 'Binary frames are not supported')
      return
    }
    const envelope = parseEnvelope(data.toString(), options.maxMessagesPerBatch)
    if (!envelope.ok) {
      bayeux.badInput(link, envelope.reason)
      // CometD closes on a frame it cannot parse (C94); the reason fits in a close frame.
      this.close(CLOSE_PROTOCOL, envelope.reason.slice(0, 120))
      return
    }
    link.enqueue(() => bayeux.process(envelope.batch, link, link.respond).catch(error => {
      bayeux.log.error({ err: error }, 'failed to process a WebSocket payload')
      this.close(CLOSE_PROTOCOL, 'Internal error')
    }))
  }

  // ws reports oversized or malformed frames here, then closes the socket itself (1009, 1002).
  function onError (this: WebSocket, error: Error): void {
    bayeux.badInput(linkOf(this), error.message)
  }

  function onClose (this: WebSocket): void {
    linkOf(this).closedByPeer()
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

function refuse (socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}
