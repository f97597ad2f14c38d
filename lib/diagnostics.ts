/**
 * diagnostics_channel events. Publishing is guarded by `hasSubscribers`, so they
 * cost nothing while nobody listens. Channels are process-wide: `server`, where an
 * event has it, is the BayeuxServer that published it (the core's event emitter), to
 * tell the servers of one process apart.
 *
 * - `bayeux-server:session:create`  `{ session }`
 * - `bayeux-server:session:destroy` `{ server, session, reason }`
 * - `bayeux-server:publish`         `{ message, session }` (session undefined for server publishes)
 * - `bayeux-server:bad-input`       `{ server, transport, reason, message, ... }`: `reason` is one of
 *   BAD_INPUT_REASONS, stable across releases; `message` is the human-readable detail.
 * - `bayeux-server:message`         `{ server, message, transport, session, duration }`: a valid
 *   message was handled. `session` is the one it named (for a handshake, the one it created),
 *   if any; `duration` is the time in ms from when the core took it up to when its reply was
 *   handed to the transport (or added to its batch's response), or, for a connect that is
 *   held, to the start of the hold.
 * - `bayeux-server:reply`           `{ server, transport, replies }`: replies written in one
 *   response, a held connect's when it is released (failed ones carry their wire error).
 * - `bayeux-server:deliver`         `{ server, session, transport, count }`: `count` events
 *   were written to a session's connection (in a connect reply, or pushed on its socket).
 * - `bayeux-server:queue:overflow`  `{ server, session, dropped }`: with queueOverflow
 *   drop-oldest, a full queue dropped `dropped` events. (With disconnect the session ends:
 *   `session:destroy` with reason `overflow`.)
 * - `bayeux-server:engine`          `{ engine, operation, error }`: published by an engine that
 *   talks to a broker, once per operation (`error` set when it failed): the Redis engine,
 *   once per script run, on the channel by name (engines do not import this module).
 */
import diagnosticsChannel from 'node:diagnostics_channel'

export const sessionCreate = diagnosticsChannel.channel('bayeux-server:session:create')
export const sessionDestroy = diagnosticsChannel.channel('bayeux-server:session:destroy')
export const publish = diagnosticsChannel.channel('bayeux-server:publish')
export const badInput = diagnosticsChannel.channel('bayeux-server:bad-input')
export const message = diagnosticsChannel.channel('bayeux-server:message')
export const reply = diagnosticsChannel.channel('bayeux-server:reply')
export const deliver = diagnosticsChannel.channel('bayeux-server:deliver')
export const queueOverflow = diagnosticsChannel.channel('bayeux-server:queue:overflow')
export const engine = diagnosticsChannel.channel('bayeux-server:engine')

/**
 * Why input was refused, as the `reason` of the bad-input event (and of metrics
 * built on it). docs/errors.md lists them, and a test keeps the two equal.
 */
export const BAD_INPUT_REASONS = {
  origin_not_allowed: 'A cross-origin request or WebSocket upgrade from an origin not in allowedOrigins (HTTP 403).',
  transport_not_offered: 'A request for a transport the server does not offer (HTTP 400).',
  empty_body: 'A long-polling request without a body (HTTP 400).',
  not_json: 'A payload that is not JSON (HTTP 400, WebSocket close 1007).',
  nested_too_deep: 'A payload nesting arrays and objects deeper than 256 levels (HTTP 400, WebSocket close 1007).',
  not_a_batch: 'A payload that is neither a message nor an array of messages, or an empty array (HTTP 400, WebSocket close 1007).',
  too_many_messages: 'More than maxMessagesPerBatch messages in one payload (HTTP 413, WebSocket close 1008).',
  too_large: 'A body, JSONP message or WebSocket message larger than maxBodySize (HTTP 413, WebSocket close 1009).',
  jsonp_callback_invalid: 'A callback-polling request without exactly one valid jsonp callback name (HTTP 400).',
  message_parameter_missing: 'A callback-polling request, or a form-encoded long-polling body, without a message parameter (HTTP 400).',
  malformed_request: 'An HTTP request the framework could not read, e.g. a malformed Content-Type (HTTP 4xx).',
  binary_frame: 'A binary WebSocket frame (close 1003).',
  websocket_protocol: 'A WebSocket frame that breaks RFC 6455 (close 1002).',
  invalid_message: 'Messages of a payload that failed validation; each got a Bayeux error reply.',
  invalid_replay: 'A subscribe whose ext.replay is not a map of channel to replay id, has more entries than maxSubscriptionsPerSession, or names an id never issued (below 1); it is refused (docs/replay.md).'
} as const

export type BadInputReason = keyof typeof BAD_INPUT_REASONS

/** Where refused input came from, for the log line. */
export interface InputSource {
  readonly transport: string
  readonly remoteAddress: string | undefined
}
