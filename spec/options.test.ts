import t from 'tap'
import { DEFAULTS, resolveOptions } from '../lib/options.ts'
import type { Options } from '../lib/options.ts'
import { BayeuxServerError } from '../lib/errors.ts'

const ERR_INVALID_OPTIONS = 'BAYEUX_ERR_INVALID_OPTIONS'

/** Resolves `options`, which a test may have made deliberately ill-typed. */
const resolve = (options: Record<string, unknown>) => resolveOptions(options as Partial<Options>)

t.test('DEFAULTS are valid and are what an empty call resolves to', async t => {
  const resolved = resolveOptions()
  t.match(resolved, DEFAULTS)
  t.ok(Object.isFrozen(resolved) && Object.isFrozen(resolved.transports), 'resolved options are frozen')
  t.same(resolveOptions({}), resolved)
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
    publishRate: 0,
    browserCookieSameSite: 'None' as const,
    trustClientSession: true,
    ack: false
  }
  t.match(resolveOptions(options), options)
})

t.test('an option given as undefined keeps its default', async t => {
  const resolved = resolveOptions({ timeout: undefined, path: undefined, transports: undefined })
  t.equal(resolved.timeout, DEFAULTS.timeout)
  t.equal(resolved.path, DEFAULTS.path)
  t.same(resolved.transports, DEFAULTS.transports)
})

t.test('each invalid option is rejected with BAYEUX_ERR_INVALID_OPTIONS, naming it', async t => {
  const invalid: Array<[string, unknown]> = [
    ['path', 'cometd'], ['path', '/a b'], ['path', '/a?b'], ['path', ''], ['path', 42],
    ['timeout', -1], ['timeout', 1.5], ['timeout', 3_600_001], ['timeout', '30000'], ['timeout', Number.NaN],
    ['interval', -1], ['maxInterval', 0],
    ['transports', []], ['transports', ['long-polling', 'long-polling']], ['transports', ['carrier-pigeon']], ['transports', 'websocket'],
    ['allowedOrigins', ['']], ['allowedOrigins', 'https://a.example'], ['allowedOrigins', [1]],
    ['maxBodySize', 0], ['maxBodySize', Number.POSITIVE_INFINITY], ['maxMessagesPerBatch', 0], ['maxSubscriptionsPerSession', 0],
    ['maxSessions', 0], ['maxSessionsPerBrowser', 1.5], ['multiSessionInterval', -1],
    ['maxQueue', 0], ['maxQueueBytes', 0], ['queueOverflow', 'drop-newest'],
    ['publishRate', -1], ['publishRate', Number.POSITIVE_INFINITY], ['publishBurst', 0],
    ['maxChannelLength', 1], ['maxChannelDepth', 0], ['jsonpCallbackMaxLength', 0],
    ['trustClientSession', 'yes'], ['requireHandshakePerConnection', 1], ['ack', null], ['timesync', 'true'],
    ['browserCookieName', 'a;b'], ['browserCookieName', ''], ['browserCookieName', 'a b'],
    ['browserCookieSameSite', 'lax'], ['websocketHighWaterMark', 0]
  ]
  for (const [name, value] of invalid) {
    t.throws(() => resolve({ [name]: value }), { code: ERR_INVALID_OPTIONS, message: new RegExp(name) }, `${name}: ${String(value)}`)
  }
  const keys = new Set(invalid.map(([name]) => name))
  t.same(Object.keys(DEFAULTS).filter(name => !keys.has(name)), [], 'every option has an invalid case above')
})

t.test('an unknown option is rejected, and named', async t => {
  t.throws(() => resolve({ timout: 1000 }), { code: ERR_INVALID_OPTIONS, message: /timout/ }, 'a typo')
  t.throws(() => resolve(JSON.parse('{"__proto__":{"timeout":1}}')), { code: ERR_INVALID_OPTIONS }, 'a __proto__ key')
  t.equal(({} as Record<string, unknown>)['timeout'], undefined, 'and no pollution')
})

t.test('the error is a BayeuxServerError listing every problem at once', async t => {
  const error = t.throws(() => resolve({ timeout: -1, maxQueue: 0 })) as BayeuxServerError
  t.ok(error instanceof BayeuxServerError)
  t.equal(error.name, 'BayeuxServerError')
  t.match(error.message, /timeout/)
  t.match(error.message, /maxQueue/)
})
