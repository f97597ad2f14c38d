import t from 'tap'
import { readFile } from 'node:fs/promises'
import { CLI_SETTINGS, DEFAULTS, OPTION_SETTINGS, resolveOptions, settingProblems } from '../lib/options.ts'
import type { Options } from '../lib/options.ts'
import { TRANSPORT_NAMES } from '../lib/transports/registry.ts'
import { BayeuxServerError } from '../lib/errors.ts'

const ERR_INVALID_OPTIONS = 'BAYEUX_ERR_INVALID_OPTIONS'

/** Resolves `options`, which a test may have made deliberately ill-typed. */
const resolve = (options: Record<string, unknown>) => resolveOptions(options as Partial<Options>)

t.test('DEFAULTS are the defaults of the table, frozen, arrays included', async t => {
  t.same(Object.keys(DEFAULTS), Object.keys(OPTION_SETTINGS))
  for (const [name, spec] of Object.entries(OPTION_SETTINGS)) t.same(DEFAULTS[name as keyof Options], spec.default, name)
  t.same(DEFAULTS.transports, TRANSPORT_NAMES, 'every transport, in the preference order of the registry')
  t.ok(Object.isFrozen(DEFAULTS))
  t.ok(Object.isFrozen(DEFAULTS.transports))
  t.ok(Object.isFrozen(DEFAULTS.allowedOrigins))
  t.throws(() => { (DEFAULTS.transports as string[]).push('carrier-pigeon') }, TypeError)
})

t.test('every setting has a one-line description', async t => {
  for (const [name, spec] of Object.entries({ ...CLI_SETTINGS, ...OPTION_SETTINGS })) {
    t.match(spec.description, /^[^\n|]+$/, name)
  }
})

t.test('DEFAULTS are valid and are what an empty call resolves to', async t => {
  t.same(resolveOptions({}), DEFAULTS)
  t.same(settingProblems({ ...DEFAULTS, host: CLI_SETTINGS.host.default, port: CLI_SETTINGS.port.default, logLevel: CLI_SETTINGS.logLevel.default }), [])
})

t.test('valid options override the defaults', async t => {
  const options = {
    path: '/bayeux/v1',
    timeout: 0,
    interval: 500,
    maxInterval: 1,
    transports: ['long-polling' as const],
    allowedOrigins: ['*'],
    maxSessionsPerBrowser: -1,
    queueOverflow: 'drop-oldest' as const,
    publishRate: 0.5,
    browserCookieSameSite: 'None' as const,
    trustClientSession: true,
    ack: false
  }
  t.same(resolveOptions(options), { ...DEFAULTS, ...options })
})

t.test('the resolved options are frozen, and do not share the arrays given', async t => {
  const transports: Options['transports'] = ['long-polling']
  const resolved = resolveOptions({ transports })
  t.ok(Object.isFrozen(resolved))
  t.ok(Object.isFrozen(resolved.transports))
  t.ok(Object.isFrozen(resolved.allowedOrigins))
  transports.push('websocket')
  t.same(resolved.transports, ['long-polling'], 'a later change by the caller does not reach them')
  t.throws(() => { (resolved as { timeout: number }).timeout = 1 }, TypeError)
})

t.test('an option given as undefined keeps its default', async t => {
  const resolved = resolveOptions({ timeout: undefined, path: undefined, transports: undefined })
  t.equal(resolved.timeout, DEFAULTS.timeout)
  t.equal(resolved.path, DEFAULTS.path)
  t.same(resolved.transports, DEFAULTS.transports)
})

t.test('each invalid option is rejected with BAYEUX_ERR_INVALID_OPTIONS, naming it', async t => {
  const invalid: Array<[string, unknown, RegExp]> = [
    ['path', 'cometd', /must match pattern/], ['path', '/a b', /must match pattern/], ['path', '/a?b', /must match pattern/],
    ['path', '', /must match pattern/], ['path', 42, /must be string/],
    ['timeout', -1, /must be >= 0/], ['timeout', 1.5, /must be integer/], ['timeout', 3_600_001, /must be <= 3600000/],
    ['timeout', '30000', /must be integer/], ['timeout', Number.NaN, /must be integer/],
    ['interval', -1, /must be >= 0/], ['maxInterval', 0, /must be >= 1/],
    ['transports', [], /must NOT have fewer than 1 items/], ['transports', ['long-polling', 'long-polling'], /must NOT have duplicate items/],
    ['transports', ['carrier-pigeon'], /item 0 must be one of websocket, long-polling, callback-polling/], ['transports', 'websocket', /must be array/],
    ['allowedOrigins', [''], /item 0 must NOT have fewer than 1 characters/], ['allowedOrigins', 'https://a.example', /must be array/],
    ['allowedOrigins', [1], /item 0 must be string/],
    ['maxBodySize', 0, /must be >= 1/], ['maxBodySize', Number.POSITIVE_INFINITY, /must be integer/], ['maxMessagesPerBatch', 0, /must be >= 1/],
    ['maxSubscriptionsPerSession', 0, /must be >= 1/], ['maxSessions', 0, /must be >= 1/], ['maxSessionsPerBrowser', 1.5, /must be integer/],
    ['multiSessionInterval', -1, /must be >= 0/], ['maxQueue', 0, /must be >= 1/], ['maxQueueBytes', 0, /must be >= 1/],
    ['queueOverflow', 'drop-newest', /must be one of disconnect, drop-oldest/],
    ['publishRate', -1, /must be >= 0/], ['publishRate', Number.POSITIVE_INFINITY, /must be number/], ['publishBurst', 0, /must be >= 1/],
    ['maxChannelLength', 1, /must be >= 2/], ['maxChannelDepth', 0, /must be >= 1/], ['jsonpCallbackMaxLength', 0, /must be >= 1/],
    ['trustClientSession', 'yes', /must be boolean/], ['requireHandshakePerConnection', 1, /must be boolean/], ['ack', null, /must be boolean/],
    ['timesync', 'true', /must be boolean/],
    ['browserCookieName', 'a;b', /must match pattern/], ['browserCookieName', '', /must match pattern/], ['browserCookieName', 'a b', /must match pattern/],
    ['browserCookieSameSite', 'lax', /must be one of Strict, Lax, None/], ['websocketHighWaterMark', 0, /must be >= 1/],
    ['history', ['event/**'], /item 0 must match pattern/], ['historySize', 0, /must be >= 1/], ['historyTtl', 999, /must be >= 1000/],
    ['replayEnvelope', '/event/**', /must be array/]
  ]
  for (const [name, value, problem] of invalid) {
    const message = new RegExp(`^Invalid options: ${name} ${problem.source}`)
    t.throws(() => resolve({ [name]: value }), { code: ERR_INVALID_OPTIONS, message }, `${name}: ${String(value)}`)
  }
  const keys = new Set(invalid.map(([name]) => name))
  t.same(Object.keys(DEFAULTS).filter(name => !keys.has(name)), [], 'every option has an invalid case above')
})

t.test('an unknown option is rejected, and named', async t => {
  t.throws(() => resolve({ timout: 1000 }), { code: ERR_INVALID_OPTIONS, message: 'Invalid options: timout is not an option' }, 'a typo')
  t.throws(() => resolve({ host: 'localhost' }), { code: ERR_INVALID_OPTIONS, message: /host is not an option/ }, 'a setting of the CLI only')
  t.throws(() => resolve({ engine: {} }), { code: ERR_INVALID_OPTIONS, message: /engine is not an option/ }, 'a pluggable part, which BayeuxServer takes apart')
  t.throws(() => resolve(JSON.parse('{"__proto__":{"timeout":1}}')), { code: ERR_INVALID_OPTIONS, message: /__proto__ is not an option/ }, 'a __proto__ key')
  t.equal(({} as Record<string, unknown>)['timeout'], undefined, 'and no pollution')
})

t.test('the error is a BayeuxServerError listing every problem at once', async t => {
  const error = t.throws(() => resolve({ timeout: -1, maxQueue: 0 })) as BayeuxServerError
  t.ok(error instanceof BayeuxServerError)
  t.equal(error.name, 'BayeuxServerError')
  t.equal(error.message, 'Invalid options: timeout must be >= 0; maxQueue must be >= 1')
})

t.test('settingProblems checks the CLI settings with the options, one problem per setting', async t => {
  t.same(settingProblems({ port: 65_536, logLevel: 'loud', host: '', timeout: -1 }), [
    { setting: 'host', message: 'must NOT have fewer than 1 characters' },
    { setting: 'port', message: 'must be <= 65535' },
    { setting: 'logLevel', message: 'must be one of fatal, error, warn, info, debug, trace, silent' },
    { setting: 'timeout', message: 'must be >= 0' }
  ])
  t.same(settingProblems({ port: 0, logLevel: 'silent' }), [])
})

t.test('options.ts imports nothing of the server or the transports but the transport names', async t => {
  const source = await readFile(new URL('../lib/options.ts', import.meta.url), 'utf8')
  const imports = [...source.matchAll(/^import .* from '(.*)'$/gm)].map(match => match[1])
  t.same(imports.filter(path => /\/(server|transports)\//.test(path!)), ['./transports/registry.ts'])
})
