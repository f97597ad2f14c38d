/**
 * lib/config-file.ts: a file of settings (issue 12), JSON or YAML, validated with the
 * schema of lib/options.ts; every fault, down to a missing file, is a problem naming
 * the setting, never an exception. Files come from tap's fixture directories.
 */
import t from 'tap'
import { join } from 'node:path'
import { problemLines, readConfigFile, withPathsResolved } from '../lib/config-file.ts'
import { CLI_SETTINGS, SETTINGS, settingProblems } from '../lib/options.ts'

t.test('a JSON file gives its settings by camelCase name', async t => {
  const dir = t.testdir({ 'bayeux.json': JSON.stringify({ timeout: 5000, maxQueue: 20, logLevel: 'warn', transports: ['websocket'], ack: false, publishRate: 2.5 }) })
  t.same(readConfigFile(join(dir, 'bayeux.json')), {
    file: join(dir, 'bayeux.json'),
    values: { timeout: 5000, maxQueue: 20, logLevel: 'warn', transports: ['websocket'], ack: false, publishRate: 2.5 },
    problems: []
  })
})

t.test('a file ending in .yaml or .yml is YAML', async t => {
  const yaml = 'timeout: 5000\nmaxQueue: 20\nallowedOrigins:\n  - https://a.example\n  - https://b.example\ntrustClientSession: true\n'
  const dir = t.testdir({ 'a.yaml': yaml, 'b.yml': yaml, 'c.YAML': yaml })
  for (const name of ['a.yaml', 'b.yml', 'c.YAML']) {
    t.same(readConfigFile(join(dir, name)).values, { timeout: 5000, maxQueue: 20, allowedOrigins: ['https://a.example', 'https://b.example'], trustClientSession: true }, name)
  }
})

t.test('an empty YAML file holds no settings; an empty JSON file is not JSON', async t => {
  const dir = t.testdir({ 'empty.yaml': '', 'comments.yml': '# nothing set yet\n', 'empty.json': '' })
  t.same(readConfigFile(join(dir, 'empty.yaml')), { file: join(dir, 'empty.yaml'), values: {}, problems: [] })
  t.same(readConfigFile(join(dir, 'comments.yml')).problems, [])
  t.match(readConfigFile(join(dir, 'empty.json')).problems, [{ setting: '', message: /^not valid JSON: / }])
})

t.test('a relative file is found from `cwd`, and named by its absolute path', async t => {
  const dir = t.testdir({ conf: { 'bayeux.json': '{"port": 0}' } })
  t.same(readConfigFile('conf/bayeux.json', dir), { file: join(dir, 'conf', 'bayeux.json'), values: { port: 0 }, problems: [] })
})

t.test('paths in a file are relative to its directory; absolute ones are kept', async t => {
  const dir = t.testdir({ etc: { 'bayeux.yaml': 'require:\n  - ./setup.mjs\n  - ../lib/more.cjs\n  - /opt/hooks/last.js\npath: /cometd\n' } })
  t.same(readConfigFile(join(dir, 'etc', 'bayeux.yaml')).values, {
    require: [join(dir, 'etc', 'setup.mjs'), join(dir, 'lib', 'more.cjs'), '/opt/hooks/last.js'],
    path: '/cometd'
  }, '`path`, the endpoint, is no file: it is not marked so, and stays as written')
})

t.test('withPathsResolved: only settings marked `path`, and never an empty one', async t => {
  t.same(withPathsResolved({ config: 'a.json', require: ['x.mjs', 'sub/y.cjs'], path: '/cometd', timeout: 5 }, '/srv/app'), {
    config: '/srv/app/a.json', require: ['/srv/app/x.mjs', '/srv/app/sub/y.cjs'], path: '/cometd', timeout: 5
  })
  t.same(withPathsResolved({ config: '', require: [] }, '/srv/app'), { config: '', require: [] }, 'empty means none')
  t.same(['config', 'require', 'path', 'logLevel'].map(name => SETTINGS[name]!.path), [true, true, undefined, undefined], 'config and require are marked, others not')
})

t.test('the marks are not part of the schema: ajv (strict) compiles and checks marked settings', async t => {
  t.ok('path' in CLI_SETTINGS.require, 'require carries its mark')
  t.same(settingProblems({ require: ['a.mjs'], config: 'b.json' }), [])
  t.same(settingProblems({ require: 'a.mjs' }), [{ setting: 'require', message: 'must be array' }])
  t.same(settingProblems({ require: [''] }), [{ setting: 'require', message: 'item 0 must NOT have fewer than 1 characters' }])
})

t.test('each kind of problem names the setting, and the file in its lines; the file gives no values then', async t => {
  const cases: Array<[string, string, Array<{ setting: string, message: string | RegExp }>]> = [
    ['unknown.json', '{"tiemout": 5000}', [{ setting: 'tiemout', message: 'is not an option' }]],
    ['kebab.yaml', 'max-queue: 5\n', [{ setting: 'max-queue', message: 'is not an option' }]],
    ['proto.json', '{"__proto__": {"timeout": 1}}', [{ setting: '__proto__', message: 'is not an option' }]],
    ['type.json', '{"timeout": "5000"}', [{ setting: 'timeout', message: 'must be integer' }]],
    ['bool.yaml', 'ack: yes\n', [{ setting: 'ack', message: 'must be boolean' }]],
    ['list.yaml', 'transports: websocket\n', [{ setting: 'transports', message: 'must be array' }]],
    ['item.yaml', 'transports: [websocket, flash]\n', [{ setting: 'transports', message: 'item 1 must be one of websocket, long-polling, callback-polling' }]],
    ['range.yaml', 'timeout: 3600001\n', [{ setting: 'timeout', message: 'must be <= 3600000' }]],
    ['low.json', '{"maxQueue": 0}', [{ setting: 'maxQueue', message: 'must be >= 1' }]],
    ['enum.yaml', 'logLevel: loud\n', [{ setting: 'logLevel', message: /^must be one of fatal, error/ }]],
    ['nested.json', '{"config": "other.json"}', [{ setting: 'config', message: 'cannot be set in a config file' }]],
    ['bad.json', '{"timeout": 5000,}', [{ setting: '', message: /^not valid JSON: / }]],
    ['bad.yaml', 'timeout: [1, 2\n', [{ setting: '', message: /^not valid YAML: .* at line \d+, column \d+$/ }]],
    ['twice.yaml', 'timeout: 1\ntimeout: 2\n', [{ setting: '', message: /^not valid YAML: Map keys must be unique at line 2, column 1$/ }]],
    ['docs.yaml', 'timeout: 1\n---\nport: 0\n', [{ setting: '', message: /^not valid YAML: Source contains multiple documents/ }]],
    ['tag.yaml', 'timeout: !seconds 5\n', [{ setting: '', message: /^not valid YAML: Unresolved tag: !seconds/ }]],
    ['alias.yaml', 'timeout: *nowhere\n', [{ setting: '', message: /^not valid YAML: Unresolved alias/ }]],
    ['list.json', '[{"timeout": 1}]', [{ setting: '', message: 'must hold one object of settings (name: value), not a list' }]],
    ['scalar.yaml', '5000\n', [{ setting: '', message: 'must hold one object of settings (name: value), not 5000' }]],
    ['null.json', 'null', [{ setting: '', message: 'must hold one object of settings (name: value), not null' }]]
  ]
  const dir = t.testdir(Object.fromEntries(cases.map(([name, text]) => [name, text])))
  for (const [name, , problems] of cases) {
    const file = readConfigFile(join(dir, name))
    t.match(file, { values: {}, problems }, name)
    t.equal(file.problems.length, problems.length, `${name}: no other problem`)
    t.same(file.values, {}, `${name}: no values`)
    for (const [i, line] of problemLines(file).entries()) {
      const { setting } = file.problems[i]!
      t.ok(line.startsWith(`${join(dir, name)}: ${setting === '' ? '' : `${setting}: `}`), `${name}: the line names the file and the setting`)
    }
  }
})

t.test('every problem of a file is reported, not only the first', async t => {
  const dir = t.testdir({ 'many.yaml': 'tiemout: 1\nmaxQueue: 0\nack: maybe\n' })
  const file = readConfigFile(join(dir, 'many.yaml'))
  t.same(file.problems.map(p => p.setting).sort(), ['ack', 'maxQueue', 'tiemout'])
  t.same(problemLines(file), file.problems.map(p => `${join(dir, 'many.yaml')}: ${p.setting}: ${p.message}`))
})

t.test('a missing or unreadable file is a problem, not an exception', async t => {
  const dir = t.testdir({ 'a-directory.json': {} })
  t.same(readConfigFile(join(dir, 'missing.yaml')), { file: join(dir, 'missing.yaml'), values: {}, problems: [{ setting: '', message: 'no such file' }] })
  t.same(readConfigFile(join(dir, 'a-directory.json')).problems, [{ setting: '', message: 'cannot be read (EISDIR)' }])
  t.same(problemLines(readConfigFile(join(dir, 'missing.yaml'))), [`${join(dir, 'missing.yaml')}: no such file`])
})
