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
  /** Made on first use: most HTTP requests are never held, so nobody listens. */
  #closeListeners: Array<() => void> | undefined

  constructor (headers: IncomingHttpHeaders, remoteAddress: string | undefined, cookieName: string) {
    this.headers = headers
    this.remoteAddress = remoteAddress
    this.browserId = readCookie(headers.cookie, cookieName)
  }

  get closed (): boolean {
    return this.#closed
  }

  onClose (listener: () => void): void {
    if (this.#closed) listener()
    else (this.#closeListeners ??= []).push(listener)
  }

  offClose (listener: () => void): void {
    const index = this.#closeListeners?.indexOf(listener) ?? -1
    if (index >= 0) this.#closeListeners!.splice(index, 1)
  }

  /** The peer went away, or the server let the link go: every listener is called, once. */
  protected peerClosed (): void {
    if (this.#closed) return
    this.#closed = true
    const listeners = this.#closeListeners ?? []
    this.#closeListeners = undefined
    for (const listener of listeners) listener()
  }
}
