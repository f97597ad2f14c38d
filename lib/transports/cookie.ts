import { randomBytes } from 'node:crypto'

/** The value of cookie `name` in a `Cookie` header, if present. */
export function readCookie (header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  // Scans in place: this runs on every HTTP request, and most carry one or two cookies.
  for (let start = 0; start < header.length;) {
    let end = header.indexOf(';', start)
    if (end < 0) end = header.length
    const eq = header.indexOf('=', start)
    if (eq > start && eq < end && header.slice(start, eq).trim() === name) {
      // We never issue an empty id: taken as one, it would tie unrelated browsers together.
      const value = header.slice(eq + 1, end).trim()
      if (value !== '') return value
    }
    start = end + 1
  }
  return undefined
}

/** A new browser id: 128 random bits, hex. */
export function newBrowserId (): string {
  return randomBytes(16).toString('hex')
}

/** The `Set-Cookie` value for the browser cookie (docs/protocol.md §5.7, C24). */
export function browserCookie (name: string, value: string, sameSite: 'Strict' | 'Lax' | 'None'): string {
  return `${name}=${value}; Path=/; HttpOnly; SameSite=${sameSite}${sameSite === 'None' ? '; Secure' : ''}`
}
