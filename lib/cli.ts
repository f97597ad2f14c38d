import { statSync } from 'node:fs'
import cluster from 'node:cluster'
import { pathToFileURL } from 'node:url'
import { problemLines, readConfigFile, withPathsResolved } from './config-file.ts'
import { CLI_SETTINGS, SETTINGS, settingProblems } from './options.ts'
import type { Setting, SettingSchema } from './options.ts'
import type { BayeuxServer } from './server/bayeux-server.ts'
import type { SecurityPolicy } from './server/security.ts'
import { createServer } from './standalone.ts'
import type { RunningServer, ServerOptions } from './standalone.ts'
import { demoPathConflict } from './demo/paths.ts'
import { superviseWorkers, workerCount } from './workers.ts'

/** A usage or configuration error: exit status 2, reported before anything listens. */
export class ConfigError extends Error {
  /** Whether the usage helps: it does for a bad flag, not for a bad config file. */
  readonly showUsage: boolean

  constructor (message: string, { showUsage }: { showUsage: boolean }) {
    super(message)
    this.showUsage = showUsage
  }
}

/** `maxQueue` → `max-queue`. */
function flagOf (name: string): string {
  return name.replace(/[A-Z]/g, upper => `-${upper.toLowerCase()}`)
}

/** `maxQueue` → `BAYEUX_MAX_QUEUE`, unless the setting names its variable. */
function envOf (name: string): string {
  return SETTINGS[name]?.env ?? `BAYEUX_${flagOf(name).replaceAll('-', '_').toUpperCase()}`
}

function isBoolean (schema: SettingSchema): boolean {
  return 'type' in schema && schema.type === 'boolean'
}

function isList (schema: SettingSchema): boolean {
  return 'type' in schema && schema.type === 'array'
}

const NAME_OF_FLAG = new Map(Object.keys(SETTINGS).map(name => [flagOf(name), name]))

/** Turns the text of a flag or environment variable into a value, for the schema to check. */
function parse (schema: SettingSchema, text: string): unknown {
  if ('enum' in schema) {
    if (!schema.enum.includes(text)) throw new Error(`not one of ${schema.enum.join(', ')}: ${JSON.stringify(text)}`)
    return text
  }
  switch (schema.type) {
    case 'string':
      return text
    case 'boolean':
      if (text !== 'true' && text !== 'false') throw new Error(`not true or false: ${JSON.stringify(text)}`)
      return text === 'true'
    case 'integer':
    case 'number':
      return numberOf(schema, text)
    case 'array':
      return text.split(',').map(item => item.trim()).filter(item => item.length > 0).map(item => parse(schema.items, item))
  }
}

/**
 * Plain decimal only. A sign is accepted only where the schema allows negative
 * numbers, so that "-5" for a duration is "not a whole number", as it always was.
 */
function numberOf (schema: { readonly type: 'integer' | 'number', readonly minimum?: number }, text: string): number {
  const unsigned = schema.minimum !== undefined && schema.minimum >= 0
  const [digits, kind] = schema.type === 'number' ? ['\\d+(\\.\\d+)?', 'a number'] : ['\\d+', unsigned ? 'a whole number' : 'an integer']
  if (!new RegExp(`^${unsigned ? '' : '-?'}${digits}$`).test(text)) throw new Error(`not ${kind}: ${JSON.stringify(text)}`)
  return Number(text)
}

/** The texts of each flag given, in order, by setting name (`true` or `false` for a boolean's bare or `--no-` form). */
function readFlags (argv: readonly string[]): Map<string, string[]> | 'help' {
  const texts = new Map<string, string[]>()
  const add = (name: string, text: string): void => { texts.set(name, [...(texts.get(name) ?? []), text]) }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--help' || arg === '-h') return 'help'
    const [, flag, inline] = /^--([^=]+)(?:=(.*))?$/s.exec(arg) ?? []
    if (flag === undefined) throw new ConfigError(`unexpected argument: ${JSON.stringify(arg)}`, { showUsage: true })
    const negated = flag.startsWith('no-') ? NAME_OF_FLAG.get(flag.slice(3)) : undefined
    if (negated !== undefined && isBoolean(SETTINGS[negated]!) && inline === undefined) {
      add(negated, 'false')
      continue
    }
    const name = NAME_OF_FLAG.get(flag)
    if (name === undefined) throw new ConfigError(`--${flag}: no such flag`, { showUsage: true })
    if (isBoolean(SETTINGS[name]!)) {
      add(name, inline ?? 'true')
      continue
    }
    const text = inline ?? argv[++i]
    if (text === undefined || (inline === undefined && text.startsWith('--'))) throw new ConfigError(`--${flag}: needs a value`, { showUsage: true })
    add(name, text)
  }
  return texts
}

/**
 * The settings given, by name: flags, then environment variables, then the `--config`
 * file; not the defaults. A list flag given more than once gathers every item; any
 * other flag given again wins over itself. Relative paths are resolved (against `cwd`,
 * or the config file's directory). Throws a ConfigError naming the flag, or the file
 * and its keys.
 */
export function readSettings (argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string = process.cwd()): Record<string, unknown> | 'help' {
  const flags = readFlags(argv)
  if (flags === 'help') return 'help'
  const values: Record<string, unknown> = {}
  for (const [name, setting] of Object.entries(SETTINGS)) {
    const variable = env[envOf(name)]
    const texts = flags.get(name) ?? (variable === undefined ? undefined : [variable])
    if (texts === undefined) continue
    try {
      values[name] = isList(setting) ? texts.flatMap(text => parse(setting, text) as unknown[]) : parse(setting, texts.at(-1)!)
    } catch (error) {
      throw new ConfigError(`--${flagOf(name)}: ${(error as Error).message}`, { showUsage: true })
    }
  }
  // Out-of-range values are usage errors too, reported before anything listens.
  const [problem] = settingProblems(values)
  if (problem !== undefined) throw new ConfigError(`--${flagOf(problem.setting)}: ${problem.message}`, { showUsage: true })
  // Observability (issue 12): the metrics listener needs a port of its own.
  if (values['metricsPort'] !== undefined && values['metricsPort'] !== 0 && values['metricsPort'] === (values['port'] ?? CLI_SETTINGS.port.default)) {
    throw new ConfigError('--metrics-port: must differ from --port', { showUsage: true })
  }
  const given = withPathsResolved(values, cwd)
  if (typeof given['config'] !== 'string' || given['config'] === '') return withDemoChecked(given)
  const file = readConfigFile(given['config'])
  if (file.problems.length > 0) throw new ConfigError(problemLines(file).join('\n'), { showUsage: false })
  return withDemoChecked({ ...file.values, ...given })
}

/** The demo page (issue 12) needs `/` and `/demo/` left to it by the Bayeux path. */
function withDemoChecked (settings: Record<string, unknown>): Record<string, unknown> {
  const conflict = settings['demo'] === true ? demoPathConflict(String(settings['path'] ?? SETTINGS['path']!.default)) : undefined
  if (conflict !== undefined) throw new ConfigError(`--demo: ${conflict}`, { showUsage: true })
  return settings
}

/** What createServer is given for `settings`: the options, with `logLevel` as the logger's level. */
export function serverOptionsOf (settings: Readonly<Record<string, unknown>>): ServerOptions {
  const { logLevel, config, require, workers, ...options } = settings as ServerOptions & { logLevel?: string, config?: string, require?: string[], workers?: string }
  return logLevel === undefined ? options : { ...options, logger: { level: logLevel } }
}

/** Every setting, by name, in the order of the table: those given, defaults for the others. */
export function effectiveSettings (given: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(SETTINGS).map(([name, setting]) => [name, Object.hasOwn(given, name) ? given[name] : setting.default]))
}

/** `values` with the value of each setting marked `secret` shown as `"***"`, unless it is empty (unset). */
export function masked (values: Readonly<Record<string, unknown>>, settings: Readonly<Record<string, Setting>> = SETTINGS): Record<string, unknown> {
  const empty = (value: unknown): boolean => value === undefined || value === '' || (Array.isArray(value) && value.length === 0)
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, settings[name]?.secret === true && !empty(value) ? '***' : value]))
}

export type Command =
  | { readonly name: 'help' }
  | { readonly name: 'serve' | 'print-config', readonly settings: Readonly<Record<string, unknown>> }
  | { readonly name: 'check-config', readonly file: string }

/** What the command line asks for. Throws a ConfigError for a usage or configuration error. */
export function readCommand (argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string = process.cwd()): Command {
  const [first, ...rest] = argv
  if (first === 'check-config') {
    if (rest.includes('--help') || rest.includes('-h')) return { name: 'help' }
    if (rest.length !== 1 || rest[0]!.startsWith('--')) throw new ConfigError('check-config: give one file, and nothing else', { showUsage: true })
    return { name: 'check-config', file: rest[0]! }
  }
  const name = first === 'print-config' ? 'print-config' : 'serve'
  const settings = readSettings(name === 'serve' ? argv : rest, env, cwd)
  return settings === 'help' ? { name: 'help' } : { name, settings }
}

interface Row {
  readonly flag: string
  readonly env: string
  readonly value: string
  readonly fallback: string
  readonly description: string
}

/** What a setting's text may be, from its schema (and its `path` mark). */
function valueText (schema: SettingSchema, path = false): string {
  if ('enum' in schema) return `one of ${schema.enum.join(', ')}`
  switch (schema.type) {
    case 'string':
      return path ? 'file' : 'text'
    case 'boolean':
      return 'true or false'
    case 'integer':
    case 'number': {
      const { minimum, maximum } = schema
      if (minimum !== undefined && maximum !== undefined) return `${schema.type} from ${minimum} to ${maximum}`
      if (minimum !== undefined) return `${schema.type} >= ${minimum}`
      return maximum !== undefined ? `${schema.type} <= ${maximum}` : schema.type
    }
    case 'array':
      if (path) return 'comma-separated list of files'
      return `comma-separated list${'enum' in schema.items ? ` of ${schema.items.enum.join(', ')}` : ''}`
  }
}

/** One row per setting: what both `--help` and the README table show. */
function rows (): Row[] {
  return Object.entries(SETTINGS).map(([name, setting]) => ({
    flag: isBoolean(setting) ? `--[no-]${flagOf(name)}` : `--${flagOf(name)}`,
    env: envOf(name),
    value: valueText(setting, setting.path),
    fallback: setting.default === null ? '' : Array.isArray(setting.default) ? setting.default.join(',') : String(setting.default),
    description: setting.description
  }))
}

const COLUMN = 30

export function usage (): string {
  const indent = ' '.repeat(COLUMN)
  const lines = rows().flatMap(row => {
    const about = [row.description, row.value, `env ${row.env}, default ${row.fallback === '' ? 'none' : row.fallback}`]
    const head = `  ${row.flag}`
    // A flag too long for its column gets a line of its own.
    return head.length < COLUMN - 1
      ? [head.padEnd(COLUMN) + about[0]!, ...about.slice(1).map(line => indent + line)]
      : [head, ...about.map(line => indent + line)]
  })
  return [
    'Usage: bayeux-server [options]',
    '       bayeux-server check-config <file>     validates a config file; exit 0, or 2 with its problems',
    '       bayeux-server print-config [options]  prints every setting in force as JSON, secrets as "***"',
    '',
    'Serves Bayeux (CometD) over long-polling, callback-polling and WebSocket.',
    'Each flag can be set by its environment variable instead, or by its camelCase',
    'name in the --config file: flags win over variables, which win over the file.',
    'A boolean flag alone means true, and --no-<flag> false. A list flag given',
    'more than once gathers the items of each.',
    '',
    ...lines,
    '  --help, -h'.padEnd(COLUMN) + 'this text',
    ''
  ].join('\n')
}

/** The README's table of flags, in Markdown. */
export function markdownTable (): string {
  const code = (text: string): string => text === '' ? 'none' : `\`${text}\``
  return [
    '| flag | environment | value | default | meaning |',
    '|---|---|---|---|---|',
    ...rows().map(row => `| ${code(row.flag)} | ${code(row.env)} | ${row.value} | ${code(row.fallback)} | ${row.description} |`),
    ''
  ].join('\n')
}

export async function main (argv: string[]): Promise<void> {
  let command: Command
  try {
    command = readCommand(argv, process.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`${prefixed(error.message)}\n${error.showUsage ? `\n${usage()}` : ''}`)
    process.exitCode = 2
    return
  }
  switch (command.name) {
    case 'help':
      process.stdout.write(usage())
      return
    case 'check-config': {
      const file = readConfigFile(command.file)
      if (file.problems.length === 0) {
        process.stdout.write(`${file.file}: ok\n`)
        return
      }
      process.stderr.write(`${prefixed(problemLines(file).join('\n'))}\n`)
      process.exitCode = 2
      return
    }
    case 'print-config':
      process.stdout.write(`${JSON.stringify(masked(effectiveSettings(command.settings)), null, 2)}\n`)
      return
    case 'serve': {
      const workers = workerCount(command.settings['workers'] as string | undefined)
      if (workers > 1 && cluster.isPrimary) return superviseWorkers(workers)
      return serve(command.settings)
    }
  }
}

/** Each line of `text`, prefixed with the program's name. */
function prefixed (text: string): string {
  return text.split('\n').map(line => `bayeux-server: ${line}`).join('\n')
}

async function serve (settings: Readonly<Record<string, unknown>>): Promise<void> {
  let server: RunningServer
  try {
    const modules: SetupModule[] = []
    // One after the other: a module's top-level code may count on those before it.
    for (const file of (settings['require'] ?? []) as string[]) modules.push(await loadModule(file))
    server = await createServer({ ...serverOptionsOf(settings), ...policyOf(modules), setup: bayeux => setUp(bayeux, modules) })
  } catch (error) {
    // The stack of a failure of the server's own (a port in use, a missing file) would only point into Node.
    process.stderr.write(`bayeux-server: ${error instanceof Error ? error.message : String(error)}\n`)
    // Whatever a --require module left running (a timer, a socket) must not keep
    // a server that failed to start alive.
    process.exit(1)
  }
  if (cluster.isWorker) {
    // The primary says it once for every worker (lib/workers.ts).
    process.send?.({ serving: server.url })
  } else {
    process.stdout.write(`bayeux-server: serving ${server.url}\n`)
    if (settings['demo'] === true) process.stdout.write(`bayeux-server: demo page at ${new URL('/', server.url).href}\n`)
    if (server.metricsUrl !== undefined) process.stdout.write(`bayeux-server: metrics at ${server.metricsUrl}\n`)
  }
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    server.fastify.log.info({ signal }, 'shutting down')
    // Drain and shutdown (issue 12): drains for at most --shutdown-timeout, then closes.
    server.shutdown().then(() => process.exit(0), error => {
      server.fastify.log.error({ err: error }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))
  // A worker whose primary is gone (killed) has nobody to hand connections to it.
  if (cluster.isWorker) process.once('disconnect', () => stop('SIGTERM'))
}

/** A --require module: its default export, its `policy` export, or both. */
interface SetupModule {
  readonly file: string
  readonly setup?: (bayeux: BayeuxServer) => unknown
  readonly policy?: SecurityPolicy
}

/** What a --require module threw: with its stack, which points into the module. */
function thrown (error: unknown): string {
  return error instanceof Error ? (error.stack ?? String(error)) : String(error)
}

async function loadModule (file: string): Promise<SetupModule> {
  const stats = statSync(file, { throwIfNoEntry: false })
  if (stats === undefined) throw new Error(`--require ${file}: no such file`)
  if (!stats.isFile()) throw new Error(`--require ${file}: not a file`)
  let exports: Record<string, unknown>
  try {
    exports = await import(pathToFileURL(file).href) as Record<string, unknown>
  } catch (error) {
    throw new Error(`--require ${file}: could not be loaded: ${thrown(error)}`)
  }
  // A CommonJS module's `module.exports` is its default export.
  const { default: setup, policy } = exports
  if (policy !== undefined && (typeof policy !== 'object' || policy === null)) throw new Error(`--require ${file}: its policy export is not an object`)
  if (typeof setup !== 'function' && policy === undefined) {
    throw new Error(`--require ${file}: exports neither a default function (async (bayeux) => {...}) nor a policy`)
  }
  return {
    file,
    ...(typeof setup === 'function' && { setup: setup as SetupModule['setup'] }),
    ...(policy !== undefined && { policy: policy as SecurityPolicy })
  }
}

/** The security policy a --require module exports; a server has one, so two modules cannot. */
function policyOf (modules: readonly SetupModule[]): { policy?: SecurityPolicy } {
  const exporting = modules.filter(module => module.policy !== undefined)
  if (exporting.length > 1) throw new Error(`--require: only one module may export a policy; ${exporting.map(module => module.file).join(' and ')} both do`)
  return exporting.length === 0 ? {} : { policy: exporting[0]!.policy! }
}

/** Calls each module's default export with the server, in the order given. */
async function setUp (bayeux: BayeuxServer, modules: readonly SetupModule[]): Promise<void> {
  for (const { file, setup } of modules) {
    try {
      await setup?.(bayeux)
    } catch (error) {
      throw new Error(`--require ${file}: failed: ${thrown(error)}`)
    }
  }
}
