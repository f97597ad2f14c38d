/**
 * The errors the server API throws. Each has a stable `code` from this catalogue;
 * docs/errors.md documents every code, and a test keeps the two equal. Errors on
 * the wire are Bayeux error strings instead (protocol/wire-errors.ts).
 */
export const ERROR_CODES = {
  BAYEUX_ERR_INVALID_OPTIONS: 'An option is unknown, of the wrong type or out of range, or options were given in a way that would be ignored.',
  BAYEUX_ERR_INVALID_CHANNEL: 'A channel name or pattern given to the API is not valid for that use.',
  BAYEUX_ERR_INVALID_EXTENSION: 'An extension has no hook, or a hook that is not a function.',
  BAYEUX_ERR_INVALID_DATA: 'Data to send cannot be serialized as JSON (a cycle, a BigInt).',
  BAYEUX_ERR_ENGINE_UNAVAILABLE: 'The engine cannot reach what it depends on (Redis): the operation did not happen.',
  BAYEUX_ERR_UNUSABLE_KEY: 'A TLS certificate or key, or a key to verify tokens with, cannot be read or is not of a supported kind.',
  BAYEUX_ERR_HISTORY_GAP: '`history(channel, { after })` names a replay id after which events are no longer kept, or one never issued.'
} as const

export type ErrorCode = keyof typeof ERROR_CODES

export class BayeuxServerError extends Error {
  readonly code: ErrorCode

  /** `cause`: the error this one wraps, kept for the log and the stack. */
  constructor (code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'BayeuxServerError'
    this.code = code
  }
}
