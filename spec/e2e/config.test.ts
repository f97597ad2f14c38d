/**
 * Configuration (issue 12), bin/bayeux-server as a child process: --config files (JSON
 * and YAML) and their precedence, check-config, print-config, --require modules
 * answering a real cometd client, and the exit codes: 2 for a bad file before anything
 * listens, 1 for a module that is missing or throws and for a port in use.
 */
import t from 'tap'
import type { Test } from 'tap'
import { createServer as createNetServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { CometD } from 'cometd'
import { ConfigError, effectiveSettings, readCommand } from '../../lib/cli.ts'
import { problemLines, readConfigFile } from '../../lib/config-file.ts'
import { CLI_SETTINGS, OPTION_SETTINGS } from '../../lib/options.ts'
import { runCli, serveCli } from '../support/cli-process.ts'
import { HttpPeer } from '../helpers.ts'
import { disconnect, handshake, newClient, subscribe } from './clients/cometd.ts'

// Some twenty runs of the CLI, each a Node process: more than the usual two minutes
// on a busy machine.
t.setTimeout(360_000)
// Each test runs its own CLI processes in directories of its own: all at once, so that
// the file waits on no one process starting after another.
t.jobs = 8

/** Files for each kind of problem a config file can have: [name, text or null for missing, key or '' for the file, message]. */
const BAD_FILES: Array<[string, string | null, string, RegExp]> = [
  ['unknown.json', '{"timeout": 5000, "tiemout": 5000}', 'tiemout', /is not an option/],
  ['type.yaml', 'timeout: soon\n', 'timeout', /must be integer/],
  ['range.yml', 'maxQueue: 0\n', 'maxQueue', /must be >= 1/],
  ['enum.json', '{"transports": ["websocket", "flash"]}', 'transports', /item 1 must be one of websocket, long-polling, callback-polling/],
  ['syntax.yaml', 'timeout: [5000\n', '', /not valid YAML: .* at line \d+, column \d+/],
  ['syntax.json', '{"timeout": 5000', '', /not valid JSON: /],
  ['missing.yaml', null, '', /no such file/]
]

/** A test's fixture directory with the bad files (and `more`: a test has one such directory). */
function badFilesDir (t: Test, more: Record<string, string> = {}): string {
  return t.testdir({ ...Object.fromEntries(BAD_FILES.filter(([, text]) => text !== null).map(([name, text]) => [name, text!])), ...more })
}

/** The line that names `key` (none: the file) of `file` with `message`, after `prefix` (the CLI's name on stderr). */
function problemLine (file: string, key: string, message: RegExp, prefix = 'bayeux-server: '): RegExp {
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(`^${prefix}${escaped}: ${key === '' ? '' : `${key}: `}${message.source}`, 'm')
}

/** The bad files the CLI itself is run on (a key, the whole file); the other kinds are read in this process, by the same functions. */
const RUN = { key: 'type.yaml', file: 'missing.yaml' }

t.test('check-config: a valid file exits 0; each kind of problem exits 2 naming the file and the key', async t => {
  const dir = badFilesDir(t, { 'good.yaml': 'timeout: 5000\nrequire: [./setup.mjs]\n' })
  const good = join(dir, 'good.yaml')
  const ok = runCli(t, ['check-config', good])
  const runs = Object.values(RUN).map(name => runCli(t, ['check-config', name], { cwd: dir }))
  const many = runCli(t, ['check-config', join(dir, 'unknown.json')], { env: { BAYEUX_CONFIG: join(dir, 'range.yml') } })
  const usageError = runCli(t, ['check-config'])

  for (const [name, , key, message] of BAD_FILES) {
    t.match(problemLines(readConfigFile(name, dir)).join('\n'), problemLine(join(dir, name), key, message, ''), `${name}: names the file${key === '' ? '' : ` and ${key}`}`)
  }
  t.same(await ok.exited, { code: 0, signal: null })
  t.equal(ok.stdout(), `${good}: ok\n`)
  t.equal(ok.stderr(), '')
  for (const [i, name] of Object.values(RUN).entries()) {
    const [, , key, message] = BAD_FILES.find(([file]) => file === name)!
    const bad = runs[i]!
    t.same(await bad.exited, { code: 2, signal: null }, `${name} exits 2`)
    t.match(bad.stderr(), problemLine(join(dir, name), key, message), `${name}: the CLI prints the problem`)
    t.notMatch(bad.stderr(), /Usage:/, 'a bad file is no misuse of the command: no usage')
    t.equal(bad.stdout(), '')
  }
  t.same(await many.exited, { code: 2, signal: null }, 'the file given is checked, not BAYEUX_CONFIG')
  t.notMatch(many.stderr(), /range\.yml/)
  t.same(await usageError.exited, { code: 2, signal: null })
  t.match(usageError.stderr(), /^bayeux-server: check-config: give one file, and nothing else\n\nUsage:/)
})

t.test('--config (or BAYEUX_CONFIG) with a bad file exits 2 naming the file and the key, before anything listens', async t => {
  const dir = badFilesDir(t)
  const byFlag = runCli(t, ['--config', RUN.key, '--host', '127.0.0.1', '--port', '0'], { cwd: dir })
  const byVariable = runCli(t, ['--host', '127.0.0.1', '--port', '0'], { env: { BAYEUX_CONFIG: RUN.file }, cwd: dir })
  const printed = runCli(t, ['print-config', '--config', 'range.yml'], { cwd: dir })

  for (const [i, [name, , key, message]] of BAD_FILES.entries()) {
    const [argv, env] = i % 2 === 0 ? [['--config', name], {}] : [[], { BAYEUX_CONFIG: name }]
    const error = t.throws(() => readCommand(argv, env, dir), `${name}: refused`) as ConfigError
    t.ok(error instanceof ConfigError && !error.showUsage, 'a ConfigError, printed without the usage')
    t.match(error.message, problemLine(join(dir, name), key, message, ''), `${name}: names the file${key === '' ? '' : ` and ${key}`}`)
  }
  for (const [bad, name, how] of [[byFlag, RUN.key, '--config'], [byVariable, RUN.file, 'BAYEUX_CONFIG']] as const) {
    const [, , key, message] = BAD_FILES.find(([file]) => file === name)!
    t.same(await bad.exited, { code: 2, signal: null }, `${how} ${name} exits 2`)
    t.match(bad.stderr(), problemLine(join(dir, name), key, message), `${name}: the CLI prints the problem`)
    t.notMatch(bad.stderr(), /Usage:/)
    t.equal(bad.stdout(), '', 'never served')
  }
  t.same(await printed.exited, { code: 2, signal: null }, 'print-config too')
  t.match(printed.stderr(), problemLine(join(dir, 'range.yml'), 'maxQueue', /must be >= 1/))
  t.equal(printed.stdout(), '')
})

t.test('print-config: every setting in force as one JSON object, defaults included; flag > environment > file > default', async t => {
  const dir = t.testdir({ conf: { 'bayeux.yaml': 'timeout: 1000\ninterval: 10\nmaxQueue: 30\nrequire: [./hook.mjs]\n' } })
  const printed = runCli(t, ['print-config', '--config', 'conf/bayeux.yaml', '--timeout', '3000', '--log-level=warn'], { env: { BAYEUX_TIMEOUT: '2000', BAYEUX_INTERVAL: '20', BAYEUX_LOG_LEVEL: 'error' }, cwd: dir })
  const plain = runCli(t, ['print-config'])
  t.same(await printed.exited, { code: 0, signal: null })
  t.equal(printed.stderr(), '')
  const config = JSON.parse(printed.stdout())
  t.same(config, {
    ...effectiveSettings({}),
    config: join(dir, 'conf', 'bayeux.yaml'),
    timeout: 3000,
    interval: 20,
    maxQueue: 30,
    logLevel: 'warn',
    require: [join(dir, 'conf', 'hook.mjs')]
  }, 'timeout from the flag, interval from the environment, maxQueue from the file, the rest defaults')
  t.same(Object.keys(config), Object.keys({ ...CLI_SETTINGS, ...OPTION_SETTINGS }), 'every setting, in the order of the table')
  t.equal(config.port, CLI_SETTINGS.port.default, 'a default of the CLI')
  t.same(config.transports, OPTION_SETTINGS.transports.default, 'a default of the server')

  t.same(await plain.exited, { code: 0, signal: null })
  t.same(JSON.parse(plain.stdout()), effectiveSettings({}), 'nothing set: the defaults')
})

t.test('a server started with --config: flag > environment > file > default, as a client sees them', async t => {
  const dir = t.testdir({ 'bayeux.json': JSON.stringify({ path: '/from-file', timeout: 1000, interval: 10, transports: ['long-polling'], logLevel: 'silent' }) })
  const server = serveCli(t, ['--config', 'bayeux.json', '--interval', '30'], { env: { BAYEUX_TIMEOUT: '2000', BAYEUX_INTERVAL: '20' }, cwd: dir })
  const url = await server.url
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+\/from-file$/, 'the path from the file, host and port from the flags over the defaults')
  const hello = await new HttpPeer(url).handshake()
  t.match(hello, { successful: true, advice: { timeout: 2000, interval: 30 } }, 'timeout from the environment over the file, interval from the flag over both')
  t.same(hello['supportedConnectionTypes'], ['long-polling'], 'transports from the file')
})

/** A remote call through a real cometd client, answered by a `/service/` listener or failed after `timeout` ms. */
function remoteCall (cometd: CometD, target: string, data: unknown, timeout = 5000): Promise<any> {
  return new Promise(resolve => cometd.remoteCall(target, data, timeout, resolve))
}

const HOOKS = {
  'echo.mjs': 'export default async function (bayeux) {\n  bayeux.listen(\'/service/echo\', message => ({ from: \'esm\', echo: message.data }))\n}\n',
  'upper.cjs': 'module.exports = async bayeux => {\n  bayeux.listen(\'/service/upper\', message => ({ from: \'cjs\', upper: String(message.data).toUpperCase() }))\n}\n',
  'policy.mjs': 'export const policy = {\n  canSubscribe: (session, channel) => !channel.startsWith(\'/secret/\')\n}\n'
}

// The node cometd client keeps one cookie jar per host: two handshakes in flight at once on
// two servers of 127.0.0.1 could each be given a browser id, and one client keep the other's.
t.test('--require with the real cometd client, one test after the other', async t => {
  await t.test('--require: an ES module and a CommonJS module, found from the working directory, answer remote calls (C65)', async t => {
    const dir = t.testdir({ hooks: HOOKS })
    const server = serveCli(t, ['--require', 'hooks/echo.mjs', '--require', 'hooks/upper.cjs'], { cwd: dir })
    const cometd = newClient(await server.url, 'long-polling')
    t.teardown(() => disconnect(cometd))
    await handshake(cometd)
    t.match(await remoteCall(cometd, 'echo', { n: 7 }), { successful: true, data: { from: 'esm', echo: { n: 7 } } }, 'the ES module\'s listener')
    t.match(await remoteCall(cometd, 'upper', 'shout'), { successful: true, data: { from: 'cjs', upper: 'SHOUT' } }, 'the CommonJS module\'s listener')
    // Only the client's timeout ends a call nobody answers: a short one does.
    t.match(await remoteCall(cometd, 'nobody', 1, 1000), { successful: false }, 'a call nobody listens to still fails, as without --require')
  })

  await t.test('--require in a config file: paths relative to the file; a module may export the security policy', async t => {
    const dir = t.testdir({ etc: { 'bayeux.yaml': 'require:\n  - ../hooks/echo.mjs\n  - ../hooks/policy.mjs\n' }, hooks: HOOKS, elsewhere: {} })
    const server = serveCli(t, ['--config', join(dir, 'etc', 'bayeux.yaml')], { cwd: join(dir, 'elsewhere') })
    const cometd = newClient(await server.url, 'long-polling')
    t.teardown(() => disconnect(cometd))
    await handshake(cometd)
    t.match(await remoteCall(cometd, 'echo', 'hi'), { successful: true, data: { from: 'esm', echo: 'hi' } })
    await t.rejects(subscribe(cometd, '/secret/plans', () => {}), /403/, 'the policy refuses /secret/ (C44)')
    await t.resolves(subscribe(cometd, '/public/news', () => {}), 'and allows the rest')
  })
})

t.test('a --require module that is missing, does not load, exports nothing usable or throws: exit 1 with a clear message', async t => {
  const dir = t.testdir({
    hooks: {
      ...HOOKS,
      'import-throws.mjs': 'throw new Error(\'no config for me\')\n',
      'syntax.mjs': 'export default async bayeux => {\n',
      'nothing.mjs': 'export const answer = 42\n',
      'throws.mjs': '// The timer must not keep a server that failed to start alive.\nexport default async () => {\n  setInterval(() => {}, 1000)\n  throw new Error(\'database unreachable\')\n}\n',
      'throws.cjs': 'module.exports = () => { throw new TypeError(\'cjs setup broke\') }\n',
      'policy2.mjs': 'export const policy = {}\n',
      'dir.mjs': {}
    }
  })
  const file = (name: string): string => join(dir, 'hooks', name)
  const cases: Array<[string[], RegExp]> = [
    [['--require', 'hooks/absent.mjs'], new RegExp(`^bayeux-server: --require ${file('absent.mjs')}: no such file$`, 'm')],
    [['--require', 'hooks/dir.mjs'], /--require .*dir\.mjs: not a file$/m],
    [['--require', 'hooks/import-throws.mjs'], /--require .*import-throws\.mjs: could not be loaded: Error: no config for me$/m],
    [['--require', 'hooks/syntax.mjs'], /--require .*syntax\.mjs: could not be loaded: SyntaxError/],
    [['--require', 'hooks/nothing.mjs'], /--require .*nothing\.mjs: exports neither a default function \(async \(bayeux\) => \{\.\.\.\}\) nor a policy$/m],
    [['--require', 'hooks/echo.mjs', '--require', 'hooks/throws.mjs'], /--require .*throws\.mjs: failed: Error: database unreachable\n {4}at /],
    [['--require', 'hooks/throws.cjs'], /--require .*throws\.cjs: failed: TypeError: cjs setup broke$/m],
    [['--require', 'hooks/policy.mjs,hooks/policy2.mjs'], /--require: only one module may export a policy; .*policy\.mjs and .*policy2\.mjs both do$/m]
  ]
  const runs = cases.map(([args]) => runCli(t, ['--host', '127.0.0.1', '--port', '0', ...args], { cwd: dir }))
  for (const [i, [args, message]] of cases.entries()) {
    const failed = runs[i]!
    t.same(await failed.exited, { code: 1, signal: null }, `${args.join(' ')} exits 1`)
    t.match(failed.stderr(), message)
    t.equal(failed.stderr().split('\n').filter(line => line.startsWith('bayeux-server: ')).length, 1, 'one message')
    t.equal(failed.stdout(), '', 'never served')
  }
})

t.test('a port in use exits 1, naming the failure', async t => {
  const taken = createNetServer()
  await new Promise<void>(resolve => taken.listen(0, '127.0.0.1', resolve))
  t.teardown(() => taken.close())
  const port = (taken.address() as AddressInfo).port
  const failed = runCli(t, ['--host', '127.0.0.1', '--port', String(port)])
  t.same(await failed.exited, { code: 1, signal: null })
  t.match(failed.stderr(), new RegExp(`^bayeux-server: listen EADDRINUSE: address already in use 127\\.0\\.0\\.1:${port}`))
  t.equal(failed.stdout(), '')
})
