import type { IncomingHttpHeaders } from 'node:http'
import { readCookie } from './cookie.ts'

/**
 * What the HTTP and WebSocket links share: the request they came with, and a
 * "the peer went away" signal whose listeners are called once. A listener added after
 * the fact is called at once: a connect whose processing outlived its request must not
 * stay held on it.
 */
export abstract class TransportLink {
  /** Request headers (of the upgrade request for a WebSocket), for policies and extensions. */
  readonly headers: IncomingHttpHeaders
  readonly remoteAddress: string | undefined
  /** The browser cookie that scopes HTTP sessions (docs/protocol.md §5.7, §5.9). */
  browserId: string | undefined
  #closed = false
  /**
   * Most links have one listener at a time (the session bound to a socket, or the connect
   * held on a request), kept as is; an array only from a second one on.
   */
  #closeListeners: (() => void) | Array<() => void> | undefined

  constructor (headers: IncomingHttpHeaders, remoteAddress: string | undefined, cookieName: string) {
    this.headers = headers
    this.remoteAddress = remoteAddress
    this.browserId = readCookie(headers.cookie, cookieName)
  }

  get closed (): boolean {
    return this.#closed
  }

  onClose (listener: () => void): void {
    const listeners = this.#closeListeners
    if (this.#closed) listener()
    else if (listeners === undefined) this.#closeListeners = listener
    else if (typeof listeners === 'function') this.#closeListeners = [listeners, listener]
    else listeners.push(listener)
  }

  offClose (listener: () => void): void {
    const listeners = this.#closeListeners
    if (listeners === listener) {
      this.#closeListeners = undefined
    } else if (Array.isArray(listeners)) {
      const index = listeners.indexOf(listener)
      if (index >= 0) listeners.splice(index, 1)
    }
  }

  /** The peer went away, or the server let the link go: every listener is called, once. */
  protected peerClosed (): void {
    if (this.#closed) return
    this.#closed = true
    const listeners = this.#closeListeners
    this.#closeListeners = undefined
    if (typeof listeners === 'function') listeners()
    else for (const listener of listeners ?? []) listener()
  }
}
