import type { IncomingHttpHeaders } from 'node:http'
import type { LinkWatcher } from '../server/link.ts'
import { readCookie } from './cookie.ts'

/**
 * What the HTTP and WebSocket links share: the request they came with, and a
 * "the peer went away" signal whose watchers are told once. A watcher added after
 * the fact is told at once: a connect whose processing outlived its request must not
 * stay held on it.
 */
export abstract class TransportLink {
  /** The browser cookie that scopes HTTP sessions (docs/protocol.md §5.7, §5.9). */
  browserId: string | undefined
  #closed = false
  /**
   * Most links have one watcher at a time (the session bound to a socket, or whose connect
   * is held on a request), kept as is; an array only from a second one on.
   */
  #watchers: LinkWatcher | LinkWatcher[] | undefined

  constructor (headers: IncomingHttpHeaders, cookieName: string) {
    this.browserId = readCookie(headers.cookie, cookieName)
  }

  /** Request headers (of the upgrade request for a WebSocket), for policies. */
  abstract get headers (): IncomingHttpHeaders

  /** The peer's address (behind a trusted proxy, the client's), for policies and logs. */
  abstract get remoteAddress (): string | undefined

  get closed (): boolean {
    return this.#closed
  }

  onClose (watcher: LinkWatcher): void {
    const watchers = this.#watchers
    if (this.#closed) watcher.linkClosed()
    else if (watchers === undefined) this.#watchers = watcher
    else if (Array.isArray(watchers)) watchers.push(watcher)
    else this.#watchers = [watchers, watcher]
  }

  offClose (watcher: LinkWatcher): void {
    const watchers = this.#watchers
    if (watchers === watcher) {
      this.#watchers = undefined
    } else if (Array.isArray(watchers)) {
      const index = watchers.indexOf(watcher)
      if (index >= 0) watchers.splice(index, 1)
    }
  }

  /** The peer went away, or the server let the link go: every watcher is told, once. */
  protected peerClosed (): void {
    if (this.#closed) return
    this.#closed = true
    const watchers = this.#watchers
    this.#watchers = undefined
    if (Array.isArray(watchers)) for (const watcher of watchers) watcher.linkClosed()
    else watchers?.linkClosed()
  }
}
