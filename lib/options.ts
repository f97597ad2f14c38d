import { Ajv } from 'ajv'
import type { ValidateFunction } from 'ajv'
import { BayeuxServerError } from './errors.ts'
import { TRANSPORT_NAMES } from './transports/registry.ts'

/** The JSON schemas settings use: what the CLI knows how to read from text. */
export type SettingSchema =
  | { readonly type: 'integer' | 'number', readonly minimum?: number, readonly maximum?: number }
  | { readonly type: 'string', readonly pattern?: string, readonly minLength?: number }
  | { readonly type: 'boolean' }
  | { readonly enum: readonly string[] }
  | { readonly type: 'array', readonly items: SettingSchema, readonly minItems?: number, readonly uniqueItems?: boolean }

/** The values schema `S` admits. */
type ValueOf<S> =
  S extends { readonly enum: ReadonlyArray<infer E> } ? E
    : S extends { readonly type: 'array', readonly items: infer I } ? Array<ValueOf<I>>
      : S extends { readonly type: 'integer' | 'number' } ? number
        : S extends { readonly type: 'string' } ? string
          : S extends { readonly type: 'boolean' } ? boolean
            : never

/**
 * Marks for what a setting's value is, read by the CLI and stripped from the schema
 * (ajv's strict mode refuses keywords it does not know):
 * - `path`: a file (or, for a list, files); a relative one is resolved against the
 *   working directory, or against the directory of the config file that sets it.
 * - `secret`: never shown; `print-config` prints `"***"` instead.
 * - `env`: the environment variable, where it is not named after the flag.
 */
export interface SettingMarks {
  readonly path?: true
  readonly secret?: true
  readonly env?: string
}

type Annotated<S, Default> = S & SettingMarks & { readonly default: Default, readonly description: string }

/**
 * A setting: its schema, annotated with its `default` and a one-line `description`, and
 * marked. A default of null (CLI settings only) means unset unless given: "none" in --help.
 */
export type Setting<S extends SettingSchema = SettingSchema> = Annotated<S, ValueOf<S> | null>

/** Keeps `spec`'s literal type, and has the compiler check its default against its schema. */
function setting<const S extends SettingSchema> (spec: Annotated<S, ValueOf<S>>): Annotated<S, ValueOf<S>> {
  return spec
}

/** A setting without a default: unset unless given. */
function unsetSetting<const S extends SettingSchema> (spec: S & SettingMarks & { readonly description: string }): Annotated<S, null> {
  return { ...spec, default: null }
}

const duration = { type: 'integer', minimum: 0, maximum: 3_600_000 } as const
const count = { type: 'integer', minimum: 1 } as const

/** Every option of the Bayeux server. Durations are in milliseconds. */
export const OPTION_SETTINGS = {
  path: setting({ type: 'string', pattern: '^/[A-Za-z0-9._~!$&\'()*+,;=:@/-]*$', default: '/cometd', description: 'path of the Bayeux endpoint; `<path>/<anything>` is served too' }), // C79
  timeout: setting({ ...duration, default: 30_000, description: 'ms a `/meta/connect` is held; also caps a client\'s `advice.timeout`' }), // A1
  interval: setting({ ...duration, default: 0, description: 'ms clients are advised to wait between connects' }),
  maxInterval: setting({ ...duration, minimum: 1, default: 10_000, description: 'ms without a connect before a session expires; also caps a client\'s `advice.interval`' }), // C75
  transports: setting({ type: 'array', minItems: 1, uniqueItems: true, items: { enum: TRANSPORT_NAMES }, default: [...TRANSPORT_NAMES], description: 'transports offered, in the order clients should prefer them' }),
  allowedOrigins: setting({ type: 'array', items: { type: 'string', minLength: 1 }, default: [], description: 'origins allowed cross-origin (CORS and WebSocket), or `*` for any; none: same-origin and non-browser clients only' }), // C101
  maxBodySize: setting({ ...count, default: 1_048_576, description: 'largest HTTP body, JSONP `message` or WebSocket message, in bytes' }), // C102
  maxMessagesPerBatch: setting({ ...count, default: 500, description: 'most messages in one payload' }),
  maxSubscriptionsPerSession: setting({ ...count, default: 1_000, description: 'most channels one session may subscribe to' }),
  maxSessions: setting({ ...count, default: 100_000, description: 'most live sessions; with `--redis`, of the whole cluster (the other nodes counted as of the last heartbeat)' }),
  maxSessionsPerBrowser: setting({ type: 'integer', default: 1, description: 'held connects per browser cookie over HTTP, more degrade to polling; negative: unlimited' }), // C38
  multiSessionInterval: setting({ ...duration, default: 2_000, description: 'ms between polls advised to the extra sessions of a browser' }),
  maxQueue: setting({ ...count, default: 10_000, description: 'most events waiting for one session' }),
  maxQueueBytes: setting({ ...count, default: 8_388_608, description: 'most bytes of events waiting for one session' }),
  queueOverflow: setting({ enum: ['disconnect', 'drop-oldest'], default: 'disconnect', description: 'a full queue ends the session (`reconnect: handshake`) or drops its oldest event' }),
  publishRate: setting({ type: 'number', minimum: 0, default: 1_000, description: 'publishes per second one session may make on average; 0: unlimited' }),
  publishBurst: setting({ ...count, default: 2_000, description: 'publishes one session may make in a burst' }),
  maxChannelLength: setting({ type: 'integer', minimum: 2, default: 512, description: 'longest channel name, in characters' }),
  maxChannelDepth: setting({ ...count, default: 32, description: 'most segments in a channel name' }),
  jsonpCallbackMaxLength: setting({ ...count, default: 64, description: 'longest JSONP callback name' }), // C85
  trustClientSession: setting({ type: 'boolean', default: false, description: 'accept an HTTP clientId without the browser cookie it was issued with' }), // C100
  requireHandshakePerConnection: setting({ type: 'boolean', default: false, description: 'refuse a clientId on a WebSocket it was not handshaken on' }), // docs/protocol.md §5.4
  ack: setting({ type: 'boolean', default: true, description: 'offer the acknowledge extension to clients that ask for it' }), // §6.2
  timesync: setting({ type: 'boolean', default: true, description: 'answer the timesync extension' }), // §6.3
  browserCookieName: setting({ type: 'string', pattern: '^[A-Za-z0-9_-]+$', default: 'BAYEUX_BROWSER', description: 'name of the browser cookie' }), // §5.7
  browserCookieSameSite: setting({ enum: ['Strict', 'Lax', 'None'], default: 'Lax', description: '`SameSite` of the browser cookie; `None` also sets `Secure` (cross-site deployments)' }),
  websocketHighWaterMark: setting({ ...count, default: 1_048_576, description: 'bytes buffered on a WebSocket before events wait in the session queue instead' }),
  // Channel history and the replay extension (issue 11, docs/replay.md).
  history: setting({ type: 'array', items: { type: 'string', pattern: '^/' }, default: [], description: 'channels (patterns allowed, e.g. `/event/**`) whose events are kept, for clients to replay with the replay extension' }),
  historySize: setting({ ...count, maximum: 1_000_000, default: 1_000, description: 'most events kept per history channel' }),
  historyTtl: setting({ type: 'integer', minimum: 1_000, maximum: 2_592_000_000, default: 86_400_000, description: 'ms an event of a history channel is kept' }),
  replayEnvelope: setting({ type: 'array', items: { type: 'string', pattern: '^/' }, default: [], description: 'history channels whose events go out in Salesforce\'s envelope (`data.event.replayId`, `data.payload`), for Salesforce streaming clients; they keep history without being in `--history`' })
}

/** Settings of bin/bayeux-server (and createServer) only: not options of the Bayeux server. */
export const CLI_SETTINGS = {
  host: setting({ type: 'string', minLength: 1, default: 'localhost', description: 'interface to listen on' }),
  port: setting({ type: 'integer', minimum: 0, maximum: 65_535, default: 8080, description: 'port to listen on; 0 picks a free one' }),
  logLevel: setting({ enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', description: 'pino level; bad input is logged once per request, at warn' }),
  // The demo page (issue 12, lib/demo/): off unless asked for; `npm start` asks.
  demo: setting({ type: 'boolean', default: false, description: 'serve a demo page at `/`: a live chat and live figures over Bayeux (`npm start` turns it on)' }),
  // Drain and shutdown (issue 12): how long SIGTERM/SIGINT (RunningServer.shutdown) drains before closing.
  shutdownTimeout: setting({ ...duration, default: 10_000, description: 'ms the server drains on SIGTERM or SIGINT (clients told to come back later, queued events delivered) before it closes' }),
  // TLS and token auth (issue 12). Paths: tlsCert, tlsKey, jwtPublicKey; a secret: jwtSecret.
  tlsCert: setting({ type: 'string', minLength: 1, path: true, default: '', description: 'PEM certificate (chain) file: with `--tls-key`, serves HTTPS and WSS on the same port' }),
  tlsKey: setting({ type: 'string', minLength: 1, path: true, default: '', description: 'PEM private key file of `--tls-cert`' }),
  jwtSecret: setting({ type: 'string', minLength: 32, secret: true, default: '', description: 'HS256 secret of the tokens handshakes must carry (see Token auth); at least 32 characters' }),
  jwtPublicKey: setting({ type: 'string', minLength: 1, path: true, default: '', description: 'PEM public key file of the tokens handshakes must carry: RSA for RS256, P-256 for ES256' }),
  jwtAudience: setting({ type: 'string', minLength: 1, default: '', description: 'the `aud` tokens must have' }),
  jwtIssuer: setting({ type: 'string', minLength: 1, default: '', description: 'the `iss` tokens must have' }),
  jwtClockTolerance: setting({ ...duration, default: 0, description: 'ms of clock skew allowed on a token\'s `exp` and `nbf`' }),
  // Configuration (issue 12): a file of settings, and modules that set the server up.
  config: setting({ type: 'string', path: true, default: '', description: 'file of settings by camelCase name: JSON, or YAML if named `*.yaml`/`*.yml`; flags and variables beat it' }),
  require: setting({ type: 'array', items: { type: 'string', minLength: 1 }, path: true, default: [], description: 'ES or CommonJS modules whose default export `async (bayeux) => {}` sets the server up before it serves' }),
  // Observability (issue 12): log format, metrics and their listener; see README "Metrics and health".
  logFormat: setting({ enum: ['auto', 'pretty', 'json'], default: 'auto', description: 'log lines for people (`pretty`) or one JSON object a line (`json`); `auto`: pretty when standard output is a terminal' }),
  metrics: setting({ type: 'boolean', default: false, description: 'serve Prometheus metrics at `/metrics`' }),
  // Many nodes over Redis (issue 10, docs/cluster.md).
  redis: setting({ type: 'string', pattern: '^rediss?://', env: 'BAYEUX_REDIS_URL', default: '', description: 'Redis URL (e.g. `redis://127.0.0.1:6379`): share sessions and traffic with every node on the same Redis and prefix; without it, one process on the memory engine' }),
  redisCluster: setting({ type: 'boolean', default: false, description: '`--redis` is a node of a Redis Cluster: channels are sharded, and publishes spread over `--redis-buses` hash tags' }),
  redisBuses: setting({ ...count, maximum: 64, default: 3, description: 'with `--redis-cluster`: hash tags (buses) the publishes spread over, each publisher\'s through one; best the number of masters, the same on every node' }),
  redisPrefix: setting({ type: 'string', minLength: 1, default: 'bayeux:', description: 'prefix of every Redis key and channel, so that several clusters (or test runs) share one Redis' }),
  workers: setting({ type: 'string', pattern: '^(auto|[1-9][0-9]{0,3})$', default: '1', description: 'worker processes sharing the port (`node:cluster`, round-robin); `auto`: one per core. More than one needs `--redis`' }),
  metricsPort: unsetSetting({ type: 'integer', minimum: 0, maximum: 65_535, description: 'serve `/metrics` and the health probes on this port of the same host instead of the main one (implies `--metrics`); 0 picks a free one' })
}

/** Everything bin/bayeux-server reads: its own settings, then every option of the Bayeux server. */
export const SETTINGS: Readonly<Record<string, Setting>> = { ...CLI_SETTINGS, ...OPTION_SETTINGS }

type ValuesOf<T> = { -readonly [K in keyof T]: ValueOf<T[K]> }

export type Options = ValuesOf<typeof OPTION_SETTINGS>
export type CliSettings = ValuesOf<typeof CLI_SETTINGS>
export type ResolvedOptions = { readonly [K in keyof Options]: Options[K] extends Array<infer E> ? readonly E[] : Options[K] }
export type QueueOverflow = Options['queueOverflow']

/** `entries` as a frozen object, arrays copied and frozen too: nobody can change them afterwards. */
function frozen (entries: Array<[string, unknown]>): object {
  return Object.freeze(Object.fromEntries(entries.map(([name, value]) => [name, Array.isArray(value) ? Object.freeze([...value]) : value])))
}

export const DEFAULTS = frozen(Object.entries(OPTION_SETTINGS).map(([name, spec]) => [name, spec.default])) as ResolvedOptions

/** What is wrong with one setting. */
export interface Problem {
  readonly setting: string
  readonly message: string
}

/** A setting as JSON schema: without its marks, which only the CLI reads. */
function schemaOf ({ path, secret, env, ...schema }: Setting): object {
  return schema
}

const ajv = new Ajv({ allErrors: true, strict: true })
const validator = (settings: Readonly<Record<string, Setting>>): ValidateFunction => ajv.compile({
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(Object.entries(settings).map(([name, setting]) => [name, schemaOf(setting)]))
})
const validateOptions = validator(OPTION_SETTINGS)
const validateSettings = validator(SETTINGS)

function problemsOf (validate: ValidateFunction, values: object): Problem[] {
  if (validate(values)) return []
  return validate.errors!.map(error => {
    // ajv says neither which property is unknown nor which values an enum allows.
    if (error.keyword === 'additionalProperties') return { setting: String(error.params['additionalProperty']), message: 'is not an option' }
    const message = error.keyword === 'enum' ? `must be one of ${(error.params['allowedValues'] as unknown[]).join(', ')}` : error.message!
    const [setting = '', ...item] = error.instancePath.slice(1).split('/')
    return { setting, message: item.length === 0 ? message : `item ${item.join('/')} ${message}` }
  })
}

/** What is wrong with `values`, some options and CLI settings. */
export function settingProblems (values: Readonly<Record<string, unknown>>): Problem[] {
  return [...problemsOf(validateSettings, values), ...combinationProblems(values)]
}

/** Settings that go together, or not at all: TLS, token auth, workers and Redis. */
export function combinationProblems (values: Readonly<Record<string, unknown>>): Problem[] {
  const given = (name: string): boolean => values[name] !== undefined
  const problems: Problem[] = []
  if (given('tlsCert') !== given('tlsKey')) {
    problems.push(given('tlsCert') ? { setting: 'tlsCert', message: 'needs tlsKey too' } : { setting: 'tlsKey', message: 'needs tlsCert too' })
  }
  if (given('jwtSecret') && given('jwtPublicKey')) problems.push({ setting: 'jwtSecret', message: 'cannot be given with jwtPublicKey: tokens are HS256 or signed by that key' })
  if (values['redisCluster'] === true && !given('redis')) problems.push({ setting: 'redisCluster', message: 'needs redis: the address of a node of the cluster' })
  // One Redis has one bus: a number given for it would be ignored without a word.
  if (given('redisBuses') && values['redisCluster'] !== true) problems.push({ setting: 'redisBuses', message: 'needs redisCluster: one Redis has one bus' })
  if (values['workers'] !== undefined && values['workers'] !== '1' && !given('redis')) {
    problems.push({ setting: 'workers', message: 'more than one worker needs redis: workers share their sessions through it' })
  }
  if (!given('jwtSecret') && !given('jwtPublicKey')) {
    for (const name of ['jwtAudience', 'jwtIssuer', 'jwtClockTolerance']) {
      if (given(name)) problems.push({ setting: name, message: 'needs jwtSecret or jwtPublicKey' })
    }
  }
  return problems
}

/** Merges `given` over DEFAULTS and validates the result; throws BAYEUX_ERR_INVALID_OPTIONS. */
export function resolveOptions (given: Partial<Options> = {}): ResolvedOptions {
  // An option given as undefined (an unset flag passed along) keeps its default
  // rather than slipping past the schema, which only checks properties present.
  const merged = { ...DEFAULTS, ...Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)) }
  const problems = problemsOf(validateOptions, merged)
  if (problems.length > 0) {
    throw new BayeuxServerError('BAYEUX_ERR_INVALID_OPTIONS', `Invalid options: ${problems.map(p => `${p.setting} ${p.message}`).join('; ')}`)
  }
  return frozen(Object.entries(merged)) as ResolvedOptions
}
