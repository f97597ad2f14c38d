import type { IncomingHttpHeaders } from 'node:http'

/**
 * The origin allowlist shared by CORS and WebSocket upgrades (docs/protocol.md §7.1).
 * Requests without `Origin` (non-browser clients, same-origin GETs, script tags)
 * and same-origin requests are always allowed.
 */
export class OriginPolicy {
  readonly #any: boolean
  readonly #allowed: Set<string>

  constructor (allowedOrigins: readonly string[]) {
    this.#any = allowedOrigins.includes('*')
    this.#allowed = new Set(allowedOrigins.map(origin => origin.toLowerCase()))
  }

  /** True when the request may be served; `origin` is the header value, if any. */
  allows (origin: string | undefined, headers: IncomingHttpHeaders): boolean {
    if (origin === undefined || this.#any) return true
    const lower = origin.toLowerCase()
    if (this.#allowed.has(lower)) return true
    return sameOrigin(lower, headers.host)
  }
}

function sameOrigin (origin: string, host: string | undefined): boolean {
  if (host === undefined) return false
  const start = origin.indexOf('://')
  return start > 0 && origin.slice(start + 3) === host.toLowerCase()
}
