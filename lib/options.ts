import { Ajv } from 'ajv'
import { BayeuxServerError } from './errors.ts'
import { TRANSPORT_NAMES } from './transports/registry.ts'
import type { TransportName } from './transports/registry.ts'

/** What to do when a session's queue is full. */
export type QueueOverflow = 'drop-oldest' | 'disconnect'

/** Every option of the Bayeux server, with its default. Durations are in milliseconds. */
export const DEFAULTS = {
  /** Base path of the Bayeux endpoint; `<path>/<anything>` is served too (C79). */
  path: '/cometd',
  /** How long a connect is held (A1); also the cap on a client's `advice.timeout`. */
  timeout: 30_000,
  /** Advised pause between connects. */
  interval: 0,
  /** A session with no connect for `interval + maxInterval` expires (C75); caps a client's `advice.interval`. */
  maxInterval: 10_000,
  /** Transports offered, in the order clients should prefer them. */
  transports: [...TRANSPORT_NAMES] as TransportName[],
  /** Origins allowed cross-origin (CORS and WebSocket upgrades); `['*']` allows any. Empty: same-origin and non-browser clients only. */
  allowedOrigins: [] as string[],
  /** Largest HTTP body, JSONP `message` or WebSocket message, in bytes (C102). */
  maxBodySize: 1_048_576,
  /** Most messages in one payload. */
  maxMessagesPerBatch: 500,
  /** Most channels one session may subscribe to. */
  maxSubscriptionsPerSession: 1_000,
  /** Most live sessions. */
  maxSessions: 100_000,
  /** Held connects per browser cookie over HTTP; more degrade to polling (C38). Negative: unlimited. */
  maxSessionsPerBrowser: 1,
  /** Polling interval advised to the extra sessions of a browser. */
  multiSessionInterval: 2_000,
  /** Most events waiting for one session. */
  maxQueue: 10_000,
  /** Most bytes of events waiting for one session. */
  maxQueueBytes: 8_388_608,
  /** A full queue drops its oldest event, or ends the session (`reconnect: "handshake"`). */
  queueOverflow: 'disconnect' as QueueOverflow,
  /** Publishes per second one session may make on average; 0: unlimited. */
  publishRate: 1_000,
  /** Publishes one session may make in a burst. */
  publishBurst: 2_000,
  /** Longest channel name, in characters. */
  maxChannelLength: 512,
  /** Most segments in a channel name. */
  maxChannelDepth: 32,
  /** Longest JSONP callback name (C85). */
  jsonpCallbackMaxLength: 64,
  /** Accept an HTTP clientId without the browser cookie it was issued with (C100). */
  trustClientSession: false,
  /** Refuse a clientId on a WebSocket it was not handshaken on (BAYEUX.md §5.4). */
  requireHandshakePerConnection: false,
  /** Offer the acknowledge extension (§6.2) to clients that ask for it. */
  ack: true,
  /** Answer the timesync extension (§6.3). */
  timesync: true,
  /** Name of the browser cookie (§5.7). */
  browserCookieName: 'BAYEUX_BROWSER',
  /** `SameSite` attribute of the browser cookie; `None` also sets `Secure` (cross-site deployments). */
  browserCookieSameSite: 'Lax' as 'Strict' | 'Lax' | 'None',
  /** Bytes buffered on a WebSocket before events wait in the session queue instead. */
  websocketHighWaterMark: 1_048_576
}

export type Options = typeof DEFAULTS

const duration = { type: 'integer', minimum: 0, maximum: 3_600_000 }
const count = { type: 'integer', minimum: 1 }

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    path: { type: 'string', pattern: '^/[A-Za-z0-9._~!$&\'()*+,;=:@/-]*$' },
    timeout: duration,
    interval: duration,
    maxInterval: { ...duration, minimum: 1 },
    transports: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { enum: TRANSPORT_NAMES }
    },
    allowedOrigins: { type: 'array', items: { type: 'string', minLength: 1 } },
    maxBodySize: count,
    maxMessagesPerBatch: count,
    maxSubscriptionsPerSession: count,
    maxSessions: count,
    maxSessionsPerBrowser: { type: 'integer' },
    multiSessionInterval: duration,
    maxQueue: count,
    maxQueueBytes: count,
    queueOverflow: { enum: ['drop-oldest', 'disconnect'] },
    publishRate: { type: 'number', minimum: 0 },
    publishBurst: count,
    maxChannelLength: { type: 'integer', minimum: 2 },
    maxChannelDepth: count,
    jsonpCallbackMaxLength: count,
    trustClientSession: { type: 'boolean' },
    requireHandshakePerConnection: { type: 'boolean' },
    ack: { type: 'boolean' },
    timesync: { type: 'boolean' },
    browserCookieName: { type: 'string', pattern: '^[A-Za-z0-9_-]+$' },
    browserCookieSameSite: { enum: ['Strict', 'Lax', 'None'] },
    websocketHighWaterMark: count
  }
} as const

const validateOptions = new Ajv({ allErrors: true, strict: true }).compile(schema)

export type ResolvedOptions = Readonly<Options>

/** Merges `plain` over DEFAULTS and validates the result; throws BAYEUX_ERR_INVALID_OPTIONS. */
export function resolveOptions (plain: Partial<Options> = {}): ResolvedOptions {
  // An option given as undefined (an unset flag passed along) keeps its default
  // rather than slipping past the schema, which only checks properties present.
  const given = Object.fromEntries(Object.entries(plain).filter(([, value]) => value !== undefined))
  const merged: Options = { ...DEFAULTS, ...given }
  if (!validateOptions(merged)) {
    // ajv's additionalProperties message does not say which option is unknown: name it.
    const unknown = (e: { params: Record<string, unknown> }): string => 'additionalProperty' in e.params ? `: ${String(e.params['additionalProperty'])}` : ''
    const detail = validateOptions.errors!.map(e => `${e.instancePath.slice(1) || 'options'} ${e.message}${unknown(e)}`).join('; ')
    throw new BayeuxServerError('BAYEUX_ERR_INVALID_OPTIONS', `Invalid options: ${detail}`)
  }
  // Arrays are copied so that no server can change another's defaults through them.
  return Object.freeze({
    ...merged,
    transports: Object.freeze([...merged.transports]) as TransportName[],
    allowedOrigins: Object.freeze([...merged.allowedOrigins]) as string[]
  })
}
