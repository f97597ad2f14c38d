import type { IncomingHttpHeaders } from 'node:http'
import type { OutgoingEvent } from '../protocol/outgoing-event.ts'
import type { Reply } from '../protocol/message.ts'

/**
 * Told when a link it watches goes away (a session: its socket, the request its connect
 * is held on). An object rather than a callback: watching costs no closure per link.
 */
export interface LinkWatcher {
  linkClosed (): void
}

/** Writes one transport payload: events first, then replies. */
export type Respond = (events: readonly OutgoingEvent[], replies: readonly Reply[]) => void

/**
 * What applications learn of the request a message came with (policies take it):
 * for a WebSocket, the upgrade request.
 */
export interface TransportContext {
  /** A transport name of lib/transports/registry.ts. */
  readonly transport: string
  readonly headers: IncomingHttpHeaders
  readonly remoteAddress: string | undefined
}

interface LinkBase extends TransportContext {
  /** The browser cookie sent with the request (docs/protocol.md §5.7, §5.9). */
  readonly browserId: string | undefined
  /** True once the peer has gone away. */
  readonly closed: boolean
  /** Tells `watcher` once, when the peer goes away (request aborted, socket closed). */
  onClose (watcher: LinkWatcher): void
  offClose (watcher: LinkWatcher): void
}

/**
 * A link that stays open (a WebSocket). The session is bound to it (C89, C90);
 * events are pushed as soon as they are queued (C92); a connect it supersedes is
 * not answered, since the socket carries the newer one's answer.
 */
export interface PushLink extends LinkBase {
  readonly kind: 'push'
  /** True while the peer is not reading fast enough; see onDrain. */
  readonly backlogged: boolean
  push (events: readonly OutgoingEvent[]): void
  /** Calls `listener` once, when a backlog has been written out. */
  onDrain (listener: () => void): void
  /**
   * The server is shutting down: once the payloads the link is processing are answered,
   * it closes (WebSocket close 1001) and counts as closed from then on.
   */
  end (): void
}

/**
 * One request (HTTP), answered once. The session is bound to the browser cookie
 * (C100); a held connect counts against that browser's limit (C38); a connect it
 * supersedes is answered at once, empty (C34).
 */
export interface RequestLink extends LinkBase {
  readonly kind: 'request'
  /** Gives the browser a cookie, sent with this request's response. */
  assignBrowserId (): string
}

/** What carried messages to the protocol core; it never learns how bytes were framed. */
export type Link = PushLink | RequestLink
