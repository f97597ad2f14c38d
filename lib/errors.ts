/**
 * Errors the server API throws, each with a stable `code` (errors on the wire are
 * Bayeux error strings, see protocol/bayeux-errors.ts).
 */
export class BayeuxServerError extends Error {
  readonly code: string

  constructor (code: string, message: string) {
    super(message)
    this.name = 'BayeuxServerError'
    this.code = code
  }
}

export const ERR_INVALID_OPTIONS = 'BAYEUX_ERR_INVALID_OPTIONS'
export const ERR_INVALID_CHANNEL = 'BAYEUX_ERR_INVALID_CHANNEL'
export const ERR_INVALID_EXTENSION = 'BAYEUX_ERR_INVALID_EXTENSION'
export const ERR_CLOSED = 'BAYEUX_ERR_CLOSED'
export const ERR_INVALID_DATA = 'BAYEUX_ERR_INVALID_DATA'
