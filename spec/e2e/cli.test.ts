/**
 * lib/cli.ts: how flags, environment variables and the --config file become settings
 * (issues 2 and 12), --help and the README table; then bin/bayeux-server as a child
 * process: help, bad flags, flags and environment variables, and graceful shutdown on
 * SIGTERM and SIGINT. The config file, check-config, print-config and --require as a
 * child process: spec/e2e/config.test.ts.
 */
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError, effectiveSettings, markdownTable, masked, readCommand, readSettings, serverOptionsOf, usage } from '../../lib/cli.ts'
import { CLI_SETTINGS, OPTION_SETTINGS, SETTINGS } from '../../lib/options.ts'
import type { Setting } from '../../lib/options.ts'
import { runCli, serveCli } from '../support/cli-process.ts'
import { withOptionsTable } from '../support/readme-options.ts'
import { HttpPeer, WsPeer, delay } from '../helpers.ts'

// The tests share nothing, and those that run the CLI each wait on a Node start-up and on
// the server's timers: all at once.
t.jobs = 8

/** `maxQueue` → [`max-queue`, `BAYEUX_MAX_QUEUE`]: the naming rule, written out again. */
function flagAndEnv (name: string): [string, string] {
  const flag = name.replace(/[A-Z]/g, upper => `-${upper.toLowerCase()}`)
  return [flag, SETTINGS[name]?.env ?? `BAYEUX_${flag.replaceAll('-', '_').toUpperCase()}`]
}

t.test('--help documents every setting: its flag, its environment variable and its default', async t => {
  const help = usage()
  for (const [name, spec] of Object.entries({ ...CLI_SETTINGS, ...OPTION_SETTINGS })) {
    const [flag, env] = flagAndEnv(name)
    t.match(help, new RegExp(`^  --(\\[no-\\])?${flag}( |\n)`, 'm'), `--${flag}`)
    t.ok(help.includes(`env ${env}, default `), env)
    t.ok(help.includes(spec.description), `the description of ${name}`)
  }
  t.same(flagAndEnv('maxQueue'), ['max-queue', 'BAYEUX_MAX_QUEUE'])
  t.match(help, /^ {2}--\[no-\]ack {2,}offer the acknowledge extension/m, 'a boolean shows its --no- form')
  t.match(help, /^ {2}--help, -h {2,}this text$/m)
})

t.test('the README table is the one the settings render (npm run docs:options rewrites it)', async t => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
  t.equal(withOptionsTable(readme), readme)
  t.ok(readme.includes(markdownTable()))
  t.equal(markdownTable().split('\n').filter(line => line.startsWith('| `--')).length, Object.keys({ ...CLI_SETTINGS, ...OPTION_SETTINGS }).length, 'a row per setting')
})

t.test('readSettings: flags beat environment variables, which beat defaults', async t => {
  const env = {
    BAYEUX_TIMEOUT: '900',
    BAYEUX_INTERVAL: '25',
    BAYEUX_ACK: 'false',
    BAYEUX_QUEUE_OVERFLOW: 'drop-oldest',
    BAYEUX_TRANSPORTS: 'websocket',
    BAYEUX_HOST: '0.0.0.0',
    BAYEUX_LOG_LEVEL: 'debug',
    BAYEUX_PUBLISH_RATE: '2.5'
  }
  t.same(readSettings(['--timeout', '700', '--ack', '--transports=long-polling,callback-polling', '--log-level', 'warn', '--port', '0'], env), {
    timeout: 700,
    interval: 25,
    ack: true,
    queueOverflow: 'drop-oldest',
    transports: ['long-polling', 'callback-polling'],
    host: '0.0.0.0',
    port: 0,
    publishRate: 2.5,
    logLevel: 'warn'
  })
  t.same(readSettings([], {}), {}, 'what is not set is left to the defaults')
  t.same(readSettings(['--timeout', '1', '--timeout=2'], {}), { timeout: 2 }, 'the last flag wins')
  t.equal(readSettings(['-h'], {}), 'help')
  t.equal(readSettings(['--timeout', '1', '--help', '--bogus'], {}), 'help')
})

t.test('readSettings: a boolean flag alone means true, --no-<flag> false', async t => {
  t.same(readSettings(['--no-ack', '--trust-client-session', '--timesync=false'], { BAYEUX_TRUST_CLIENT_SESSION: 'false', BAYEUX_ACK: 'true' }), {
    ack: false, trustClientSession: true, timesync: false
  })
  t.same(readSettings(['--ack', '--no-ack'], {}), { ack: false })
  t.same(readSettings(['--no-ack', '--ack'], {}), { ack: true })
  t.same(readSettings([], { BAYEUX_REQUIRE_HANDSHAKE_PER_CONNECTION: 'true' }), { requireHandshakePerConnection: true })
})

t.test('readSettings: lists are comma-separated, their items trimmed, empty ones dropped', async t => {
  t.same(readSettings(['--allowed-origins', ' https://a.example ,,https://b.example, '], {}), { allowedOrigins: ['https://a.example', 'https://b.example'] })
  t.same(readSettings([], { BAYEUX_ALLOWED_ORIGINS: '' }), { allowedOrigins: [] })
  t.same(readSettings([], { BAYEUX_TRANSPORTS: 'long-polling, websocket' }), { transports: ['long-polling', 'websocket'] })
})

t.test('readSettings: Redis and workers (issue 10)', async t => {
  t.same(readSettings([], { BAYEUX_REDIS_URL: 'redis://r:6379', BAYEUX_REDIS_PREFIX: 'app:', BAYEUX_WORKERS: 'auto' }), { redis: 'redis://r:6379', redisPrefix: 'app:', workers: 'auto' }, 'BAYEUX_REDIS_URL is --redis')
  t.same(readSettings(['--redis', 'redis://r', '--workers', '4'], {}), { redis: 'redis://r', workers: '4' })
  t.throws(() => readSettings(['--workers', '2'], {}), { message: '--workers: more than one worker needs redis: workers share their sessions through it' })
  t.throws(() => readSettings(['--workers', '0', '--redis', 'redis://r'], {}), { message: /^--workers: must match pattern/ })
  t.same(readSettings(['--workers', '1'], {}), { workers: '1' }, 'one worker needs no Redis')
  t.same(readSettings(['--redis', 'redis://r', '--redis-cluster'], {}), { redis: 'redis://r', redisCluster: true })
  t.throws(() => readSettings(['--redis-cluster'], {}), { message: '--redis-cluster: needs redis: the address of a node of the cluster' })
  t.same(readSettings(['--redis', 'redis://r', '--redis-cluster', '--redis-buses', '4'], {}), { redis: 'redis://r', redisCluster: true, redisBuses: 4 })
  t.throws(() => readSettings(['--redis', 'redis://r', '--redis-buses', '4'], {}), { message: '--redis-buses: needs redisCluster: one Redis has one bus' }, 'a bus count is for a cluster')
  for (const buses of ['0', '65', '1.5']) {
    t.throws(() => readSettings(['--redis', 'redis://r', '--redis-cluster', '--redis-buses', buses], {}), { message: /^--redis-buses: (must be|not a whole number)/ }, `--redis-buses ${buses}`)
  }
  t.throws(() => readSettings(['--redis', '127.0.0.1:6379'], {}), { message: '--redis: must match pattern "^rediss?://"' }, 'a Redis address without its scheme is a usage error')
})

t.test('readSettings: numbers are plain decimals, signed only where the schema allows negatives', async t => {
  t.same(readSettings(['--max-sessions-per-browser=-1', '--publish-rate', '0.5', '--max-queue', '007'], {}), { maxSessionsPerBrowser: -1, publishRate: 0.5, maxQueue: 7 })
})

t.test('readSettings: each kind of bad value or flag is an error naming the flag', async t => {
  const cases: Array<[string[], Record<string, string>, string | RegExp]> = [
    [['--timeout', '1e3'], {}, '--timeout: not a whole number: "1e3"'],
    [['--timeout', ' 5'], {}, '--timeout: not a whole number: " 5"'],
    [['--timeout', '0x10'], {}, '--timeout: not a whole number: "0x10"'],
    [['--max-sessions-per-browser', '1.5'], {}, '--max-sessions-per-browser: not an integer: "1.5"'],
    [['--publish-rate', '1e3'], {}, '--publish-rate: not a number: "1e3"'],
    [['--publish-rate=-1'], {}, '--publish-rate: not a number: "-1"'],
    [['--ack=yes'], {}, '--ack: not true or false: "yes"'],
    [[], { BAYEUX_ACK: '1' }, '--ack: not true or false: "1"'],
    [['--queue-overflow', 'drop-newest'], {}, '--queue-overflow: not one of disconnect, drop-oldest: "drop-newest"'],
    [['--transports', 'websocket,flash'], {}, '--transports: not one of websocket, long-polling, callback-polling: "flash"'],
    [['--transports', 'websocket,websocket'], {}, /^--transports: must NOT have duplicate items/],
    [['--transports', ','], {}, '--transports: must NOT have fewer than 1 items'],
    [['--path', 'cometd'], {}, /^--path: must match pattern/],
    [[], { BAYEUX_MAX_INTERVAL: '0' }, '--max-interval: must be >= 1'],
    [['--port', '65536'], {}, '--port: must be <= 65535'],
    [['--host='], {}, '--host: must NOT have fewer than 1 characters'],
    [['--no-timeout'], {}, '--no-timeout: no such flag'],
    [['--no-ack=true'], {}, '--no-ack: no such flag'],
    [['--bogus'], {}, '--bogus: no such flag'],
    [['--timeout'], {}, '--timeout: needs a value'],
    [['--path', '--timeout', '5'], {}, '--path: needs a value'],
    [['cometd'], {}, 'unexpected argument: "cometd"'],
    [['--port', 'eighty'], {}, '--port: not a whole number: "eighty"'],
    [['--timeout=-5'], {}, '--timeout: not a whole number: "-5"'],
    [['--timeout', '99999999'], {}, '--timeout: must be <= 3600000'],
    [['--log-level', 'loud'], {}, /^--log-level: not one of fatal, .*: "loud"$/],
    [[], { BAYEUX_INTERVAL: '1.5' }, '--interval: not a whole number: "1.5"']
  ]
  // Each is a usage error: the CLI prints it with the usage and exits 2 (a bad flag or value, below).
  for (const [args, env, message] of cases) {
    t.throws(() => readSettings(args, env), { message, showUsage: true }, `${JSON.stringify(args)} ${JSON.stringify(env)}`)
  }
})

t.test('readSettings: a bad flag is a ConfigError that shows the usage', async t => {
  t.throws(() => readSettings(['--bogus'], {}), new ConfigError('--bogus: no such flag', { showUsage: true }))
  t.match(t.throws(() => readSettings(['--bogus'], {})), { showUsage: true })
})

t.test('readSettings: a list flag given more than once gathers the items of each; flags still beat the variable', async t => {
  t.same(readSettings(['--allowed-origins', 'https://a.example', '--allowed-origins=https://b.example,https://c.example'], { BAYEUX_ALLOWED_ORIGINS: 'https://d.example' }), {
    allowedOrigins: ['https://a.example', 'https://b.example', 'https://c.example']
  })
  t.same(readSettings(['--require', 'a.mjs', '--require', 'lib/b.cjs,/opt/c.js'], { BAYEUX_REQUIRE: 'x.mjs' }, '/srv/app'), {
    require: ['/srv/app/a.mjs', '/srv/app/lib/b.cjs', '/opt/c.js']
  }, 'paths relative to the working directory')
  t.same(readSettings([], { BAYEUX_REQUIRE: 'x.mjs, ../y.mjs' }, '/srv/app'), { require: ['/srv/app/x.mjs', '/srv/y.mjs'] }, 'BAYEUX_REQUIRE is comma-separated')
  t.same(readSettings(['--require', 'a.mjs', '--require', 'a.mjs'], {}, '/srv'), { require: ['/srv/a.mjs', '/srv/a.mjs'] }, 'a module given twice is run twice: as asked')
})

t.test('readSettings: flags beat environment variables, which beat the --config file, which beats the defaults', async t => {
  const dir = t.testdir({
    etc: { 'bayeux.yaml': 'timeout: 1\ninterval: 2\nmaxQueue: 3\nrequire: [./hook.mjs]\n' },
    'other.json': '{"maxQueue": 4}'
  })
  const file = join(dir, 'etc', 'bayeux.yaml')
  t.same(readSettings(['--timeout', '100', '--config', 'etc/bayeux.yaml'], { BAYEUX_TIMEOUT: '10', BAYEUX_INTERVAL: '20' }, dir), {
    timeout: 100, interval: 20, maxQueue: 3, require: [join(dir, 'etc', 'hook.mjs')], config: file
  }, 'timeout from the flag, interval from the environment, maxQueue and require from the file')
  t.same(readSettings(['--require', 'mine.mjs'], { BAYEUX_CONFIG: file }, dir), {
    timeout: 1, interval: 2, maxQueue: 3, require: [join(dir, 'mine.mjs')], config: file
  }, 'BAYEUX_CONFIG names the file; a list flag replaces the list of the file, as any flag does')
  t.same(readSettings(['--config', 'other.json'], { BAYEUX_CONFIG: file }, dir), { maxQueue: 4, config: join(dir, 'other.json') }, '--config beats BAYEUX_CONFIG')
  t.same(readSettings(['--config='], { BAYEUX_CONFIG: file }, dir), { config: '' }, 'an empty --config means none')
})

t.test('readSettings: a bad config file is a ConfigError naming the file and each key, without the usage', async t => {
  const dir = t.testdir({ 'bad.json': '{"tiemout": 1, "maxQueue": 0}' })
  const error = t.throws(() => readSettings(['--config', 'bad.json', '--timeout', '5'], {}, dir)) as ConfigError
  t.ok(error instanceof ConfigError)
  t.equal(error.showUsage, false)
  t.same(error.message.split('\n').sort(), [`${join(dir, 'bad.json')}: maxQueue: must be >= 1`, `${join(dir, 'bad.json')}: tiemout: is not an option`])
  t.throws(() => readSettings([], { BAYEUX_CONFIG: 'missing.yaml' }, dir), { message: `${join(dir, 'missing.yaml')}: no such file`, showUsage: false })
  t.throws(() => readSettings(['--config', 'bad.json', '--timeout', 'soon'], {}, dir), { message: '--timeout: not a whole number: "soon"', showUsage: true }, 'flags are checked first')
})

t.test('serverOptionsOf: the options of createServer, with logLevel as the level of its logger', async t => {
  t.same(serverOptionsOf({ timeout: 5, port: 0, logLevel: 'warn', config: '/etc/bayeux.yaml', require: ['/srv/a.mjs'] }), { timeout: 5, port: 0, logger: { level: 'warn' } })
  t.same(serverOptionsOf({}), {}, 'what is not set is left to the defaults of createServer and BayeuxServer')
})

t.test('readCommand: serve, check-config <file>, print-config [options], help', async t => {
  t.same(readCommand(['--timeout', '5'], { BAYEUX_PORT: '0' }), { name: 'serve', settings: { timeout: 5, port: 0 } })
  t.same(readCommand(['print-config', '--timeout', '5'], { BAYEUX_PORT: '0' }), { name: 'print-config', settings: { timeout: 5, port: 0 } })
  t.same(readCommand(['check-config', 'a.yaml'], { BAYEUX_PORT: 'not read' }), { name: 'check-config', file: 'a.yaml' })
  t.same(readCommand(['--help'], {}), { name: 'help' })
  t.same(readCommand(['print-config', '-h'], {}), { name: 'help' })
  t.same(readCommand(['check-config', '--help'], {}), { name: 'help' })
  t.throws(() => readCommand(['check-config'], {}), { message: 'check-config: give one file, and nothing else', showUsage: true })
  t.throws(() => readCommand(['check-config', 'a.yaml', 'b.yaml'], {}), { message: 'check-config: give one file, and nothing else' })
  t.throws(() => readCommand(['check-config', '--config', 'a.yaml'], {}), { message: 'check-config: give one file, and nothing else' })
  t.throws(() => readCommand(['serve'], {}), { message: 'unexpected argument: "serve"' })
  t.throws(() => readCommand(['print-config', 'a.yaml'], {}), { message: 'unexpected argument: "a.yaml"' })
})

t.test('effectiveSettings: every setting, in the order of the table, defaults for those not given', async t => {
  const effective = effectiveSettings({ timeout: 5, require: ['/srv/a.mjs'] })
  t.same(Object.keys(effective), Object.keys({ ...CLI_SETTINGS, ...OPTION_SETTINGS }))
  for (const [name, setting] of Object.entries({ ...CLI_SETTINGS, ...OPTION_SETTINGS })) {
    if (name !== 'timeout' && name !== 'require') t.same(effective[name], setting.default, name)
  }
  t.equal(effective['timeout'], 5)
  t.same(effective['require'], ['/srv/a.mjs'])
})

t.test('masked: a setting marked secret is shown as "***" when set, whatever its type', async t => {
  const settings: Record<string, Setting> = {
    token: { type: 'string', secret: true, default: '', description: 'a secret' },
    keys: { type: 'array', items: { type: 'string' }, secret: true, default: [], description: 'secrets' },
    user: { type: 'string', default: '', description: 'not a secret' }
  }
  t.same(masked({ token: 's3cr3t', keys: ['k1', 'k2'], user: 'bob', other: 'x' }, settings), { token: '***', keys: '***', user: 'bob', other: 'x' })
  t.same(masked({ token: '', keys: [], user: '' }, settings), { token: '', keys: [], user: '' }, 'unset (empty) shows as unset: nothing to hide')
  t.same(masked(effectiveSettings({ timeout: 5 })), effectiveSettings({ timeout: 5 }), 'the table itself has no secret yet (another part of issue 12 adds one)')
})

// bin/bayeux-server runs the compiled dist/ (see spec/support/cli-process.ts).

t.test('--help prints the usage and exits 0', async t => {
  const help = runCli(t, ['--help'])
  t.same(await help.exited, { code: 0, signal: null })
  t.match(help.stdout(), /^Usage: bayeux-server \[options\]/)
  for (const flag of ['--host', '--port', '--path', '--timeout', '--interval', '--max-interval', '--allowed-origins', '--log-level']) {
    t.ok(help.stdout().includes(flag), `documents ${flag}`)
  }
  t.match(help.stdout(), /BAYEUX_MAX_INTERVAL/, 'names the environment variables')
  t.equal(help.stdout(), usage(), 'the usage of the built CLI is the one of lib/')
  t.equal(help.stderr(), '')
})

// Each kind of bad flag or value, as readSettings words it: above. Here, that the CLI prints
// such an error for a flag and for a variable.
t.test('a bad flag or value exits 2 with a message and the usage', async t => {
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [['--port', 'eighty'], {}, /^bayeux-server: --port: not a whole number: "eighty"\n/],
    [[], { BAYEUX_INTERVAL: '1.5' }, /^bayeux-server: --interval: not a whole number: "1\.5"\n/]
  ]
  const runs = cases.map(([args, env]) => runCli(t, args, { env }))
  for (const [i, [args, env, message]] of cases.entries()) {
    const bad = runs[i]!
    t.same(await bad.exited, { code: 2, signal: null }, `${JSON.stringify(args)} ${JSON.stringify(env)} exits 2`)
    t.match(bad.stderr(), message)
    t.match(bad.stderr(), /Usage: bayeux-server/)
    t.equal(bad.stdout(), '', 'nothing on stdout')
  }
})

t.test('flags beat environment variables, which beat defaults', async t => {
  const server = serveCli(t, ['--path', '/from-flag', '--timeout', '700'], {
    env: {
      BAYEUX_PATH: '/from-env',
      BAYEUX_TIMEOUT: '900',
      BAYEUX_INTERVAL: '25',
      BAYEUX_ALLOWED_ORIGINS: 'https://a.example, https://b.example',
      BAYEUX_TRANSPORTS: 'long-polling,callback-polling'
    }
  })
  const url = await server.url
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+\/from-flag$/, 'prints the URL it serves')
  const peer = new HttpPeer(url)
  const hello = await peer.handshake()
  t.match(hello, { successful: true, advice: { reconnect: 'retry', timeout: 700, interval: 25 } }, 'timeout from the flag, interval from the environment')
  t.same(hello['supportedConnectionTypes'], ['long-polling', 'callback-polling'], 'an option that had no flag before')

  const allowed = await new HttpPeer(url).post([{ id: '1', channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }], { headers: { origin: 'https://b.example' } })
  t.equal(allowed.headers['access-control-allow-origin'], 'https://b.example', 'an origin of BAYEUX_ALLOWED_ORIGINS is allowed (C101)')
  const refused = await new HttpPeer(url).post([{ id: '1', channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }], { headers: { origin: 'https://c.example' } })
  t.equal(refused.status, 403, 'another origin is refused')
})

t.test('--max-interval: a session without connects expires (C75)', async t => {
  const server = serveCli(t, ['--max-interval', '1'])
  const peer = new HttpPeer(await server.url)
  await peer.handshake()
  // Each probe is activity that extends the session by maxInterval, so probes are spaced
  // wider than the sweep period (250 ms). With the default (10 s) this would not end.
  let reply: Record<string, any> = {}
  for (let i = 0; i < 20 && reply['error'] !== '402::session_unknown'; i++) {
    await delay(500)
    ;[reply] = await peer.send({ channel: '/meta/subscribe', subscription: '/expiry' }) as [Record<string, any>]
  }
  t.match(reply, { successful: false, error: '402::session_unknown' })
})

t.test('SIGTERM answers a held long-polling connect and exits 0', async t => {
  const server = serveCli(t, ['--timeout', '600000'])
  const peer = new HttpPeer(await server.url)
  await peer.connected()
  let answered = false
  const held = peer.send({ channel: '/meta/connect', connectionType: 'long-polling' }).finally(() => { answered = true })
  // A round trip on another connection, after the connect was sent, lets the server take it.
  await peer.send({ channel: '/meta/subscribe', subscription: '/shutdown' })
  t.equal(answered, false, 'the connect is held (timeout 10 minutes)')
  server.child.kill('SIGTERM')
  const [reply] = await held
  t.match(reply, { channel: '/meta/connect', successful: true }, 'answered at shutdown, not after its timeout')
  t.same(await server.exited, { code: 0, signal: null }, 'exit code 0')
})

t.test('SIGINT answers a held WebSocket connect, closes the socket with 1001 and exits 0', async t => {
  const server = serveCli(t, ['--timeout', '600000'])
  const peer = await WsPeer.open(await server.url)
  await peer.connected()
  const id = peer.send({ channel: '/meta/connect', connectionType: 'websocket' })
  const subscribed = peer.send({ channel: '/meta/subscribe', subscription: '/shutdown' })
  await peer.until(m => m['id'] === subscribed)
  server.child.kill('SIGINT')
  t.match(await peer.until(m => m['id'] === id), { channel: '/meta/connect', successful: true }, 'the held connect is answered')
  t.equal((await peer.closed).code, 1001, 'going away')
  t.same(await server.exited, { code: 0, signal: null }, 'exit code 0')
})
