import { randomBytes } from 'node:crypto'

/** The value of cookie `name` in a `Cookie` header, if present. */
export function readCookie (header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq <= 0 || pair.slice(0, eq).trim() !== name) continue
    // We never issue an empty id: taken as one, it would tie unrelated browsers together.
    const value = pair.slice(eq + 1).trim()
    if (value !== '') return value
  }
  return undefined
}

/** A new browser id: 128 random bits, hex. */
export function newBrowserId (): string {
  return randomBytes(16).toString('hex')
}

/** The `Set-Cookie` value for the browser cookie (BAYEUX.md §5.7, C24). */
export function browserCookie (name: string, value: string, sameSite: 'Strict' | 'Lax' | 'None'): string {
  return `${name}=${value}; Path=/; HttpOnly; SameSite=${sameSite}${sameSite === 'None' ? '; Secure' : ''}`
}
