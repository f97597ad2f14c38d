/**
 * The catalogue of Bayeux error strings this server sends on the wire (docs/protocol.md §3.7);
 * docs/errors.md lists them, and a test keeps the two equal.
 * Format: `code:args:message`. Clients branch on `successful` and `advice`, not on
 * the code, so the strings follow CometD's wording where CometD has one.
 */

export const SESSION_UNKNOWN = '402::session_unknown'
export const HANDSHAKE_DENIED = '403::handshake_denied'
export const CHANNEL_MISSING = '400::channel_missing'
export const CHANNEL_INVALID = '405::channel_invalid'
export const MESSAGE_ID_INVALID = '405::message_id_invalid'
export const SUBSCRIPTION_MISSING = '403::subscription_missing'
export const SUBSCRIPTION_INVALID = '403::subscription_invalid'
export const SUBSCRIBE_FAILED = '403::subscribe_failed'
export const UNSUBSCRIBE_FAILED = '403::unsubscribe_failed'
export const MESSAGE_DELETED = '404::message_deleted'
export const DATA_MISSING = '402:data:missing'
export const SERVER_ERROR = '500::internal_error'
export const TOO_MANY_SUBSCRIPTIONS = '403::too_many_subscriptions'
export const TOO_MANY_SESSIONS = '503::too_many_sessions'
/** The server is draining for shutdown: handshake with another node, or with this one once it is back. */
export const SERVER_DRAINING = '503::server_draining'
/** The engine (Redis) cannot be reached: the message had no effect; retry later. */
export const ENGINE_UNAVAILABLE = '503::engine_unavailable'
export const RATE_LIMITED = '429::publish_rate_exceeded'
export const QUEUE_OVERFLOW = '409::queue_overflow'

/** A field has the wrong type or shape, e.g. `400:ext:invalid_field`. */
export function fieldInvalid (field: string): string {
  return `400:${field}:invalid_field`
}

/** The channel of a publish names a wildcard or a meta channel (C63, C64). */
export function publishInvalid (channel: string): string {
  return `405:${channel}:channel_invalid`
}

export type DenialKind = 'create_denied' | 'subscribe_denied' | 'publish_denied' | 'channel_create_denied'

/** Who refused: the security policy (CometD's wording), or an authorizer. */
export type DenialReason = 'denied_by_security_policy' | 'denied_by_authorizer'

/** An operation was refused; the reason defaults to the security policy. */
export function denied (kind: DenialKind, reason: DenialReason = 'denied_by_security_policy'): string {
  return `403:${reason}:${kind}`
}

/** A handshake offered no connection type the server has; the reply names the server's (Faye's code). */
export function connectionTypesUnsupported (offered: readonly string[]): string {
  return `301:${offered.join(',')}:connection_types_not_supported`
}

/**
 * A subscribe asked to resume after a replay id from which the history cannot be
 * replayed whole (docs/replay.md): Salesforce's text, which its clients match, braces
 * and two spaces included.
 */
export function replayIdInvalid (replayId: number | string): string {
  return `400::The replayId {${replayId}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.`
}
