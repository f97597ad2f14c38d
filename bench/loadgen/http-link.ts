import type { Pool } from 'undici'
import type { Link, LinkFactory, LinkListener, Message } from './bayeux-client.ts'

/**
 * Bayeux long-polling over a shared keep-alive pool, one POST per batch, with the two lanes of
 * a CometD client: the /meta/connect lane, and one other request at a time whose followers are
 * queued and sent together when it completes. Concurrent POSTs from one session could reach
 * the server in any order and reorder that session's publishes. The session keeps its own
 * cookie, because cometd-nodejs-server ties sessions to their BAYEUX_BROWSER cookie and holds
 * only one connect per browser.
 */
class LongPollingLink implements Link {
  readonly connectionType = 'long-polling'
  #pool: Pool
  #path: string
  #listener: LinkListener
  #cookie: string | undefined
  #closed = false
  #requestInFlight = false
  #queued: Message[] = []

  constructor (pool: Pool, path: string, listener: LinkListener) {
    this.#pool = pool
    this.#path = path
    this.#listener = listener
  }

  send (messages: Message[]): void {
    if (messages[0]?.channel === '/meta/connect') {
      void this.#post(messages, true)
      return
    }
    this.#queued.push(...messages)
    if (!this.#requestInFlight) void this.#sendQueued()
  }

  close (): void {
    this.#closed = true
  }

  async #sendQueued (): Promise<void> {
    this.#requestInFlight = true
    while (this.#queued.length > 0) {
      const batch = this.#queued
      this.#queued = []
      await this.#post(batch, true)
    }
    this.#requestInFlight = false
  }

  async #post (messages: Message[], mayRetry: boolean): Promise<void> {
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json' }
      if (this.#cookie !== undefined) headers.cookie = this.#cookie
      const response = await this.#pool.request({ path: this.#path, method: 'POST', headers, body: JSON.stringify(messages) })
      this.#rememberCookie(response.headers['set-cookie'])
      const text = await response.body.text()
      if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}`)
      if (!this.#closed) this.#listener.receive(JSON.parse(text))
    } catch (error) {
      // A keep-alive connection the server closed while idle fails the request sent on it at
      // that moment; browsers resend such a request once on a new connection, and so do we.
      if (mayRetry && isClosedConnection(error as NodeJS.ErrnoException)) return this.#post(messages, false)
      if (!this.#closed) this.#listener.fail(messages, error as Error)
    }
  }

  #rememberCookie (header: string | string[] | undefined): void {
    const first = Array.isArray(header) ? header[0] : header
    if (first !== undefined) this.#cookie = first.split(';', 1)[0]
  }
}

function isClosedConnection (error: NodeJS.ErrnoException): boolean {
  return error.code === 'UND_ERR_SOCKET' || error.code === 'ECONNRESET'
}

export function longPollingLink (pool: Pool, path: string): LinkFactory {
  return async (listener) => new LongPollingLink(pool, path, listener)
}
