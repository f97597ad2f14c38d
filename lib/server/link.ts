import type { IncomingHttpHeaders } from 'node:http'
import type { Event } from '../protocol/event.ts'
import type { Reply } from '../protocol/message.ts'

export type TransportName = 'long-polling' | 'callback-polling' | 'websocket'

/** Writes one transport payload: events first, then replies. */
export type Respond = (events: readonly Event[], replies: readonly Reply[]) => void

/**
 * What carried messages to the protocol core: one HTTP request, or one WebSocket.
 * The core sees only this; it never learns how bytes were framed.
 */
export interface Link {
  readonly transport: TransportName
  /** A WebSocket stays open: events can be pushed on it as soon as they are queued. */
  readonly persistent: boolean
  /** Request headers (of the upgrade request for a WebSocket), for policies and extensions. */
  readonly headers: IncomingHttpHeaders
  readonly remoteAddress: string | undefined
  /** HTTP: the browser cookie that scopes sessions (BAYEUX.md §5.7, §5.9). */
  browserId: string | undefined
  /** HTTP: gives this browser a cookie; the transport sends it with the response. */
  assignBrowserId?(): string
  /** Persistent links: writes events now (C92). */
  push?(events: readonly Event[]): void
  /** Persistent links: true while the peer is not reading fast enough; see onDrain. */
  readonly backlogged?: boolean
  /** Persistent links: calls `listener` once, when a backlog has been written out. */
  onDrain?(listener: () => void): void
  /** True once the peer has gone away. */
  readonly closed: boolean
  /** Called once when the peer goes away (HTTP request aborted, socket closed). */
  onClose(listener: () => void): void
  /** Stops calling a listener given to onClose. */
  offClose(listener: () => void): void
}
