import { createServer } from './standalone.ts'
import type { ServerOptions } from './standalone.ts'
import { CLI_SETTINGS, OPTION_SETTINGS, settingProblems } from './options.ts'
import type { Setting, SettingSchema } from './options.ts'

/** Everything the CLI reads: its own settings, then every option of the Bayeux server. */
const SETTINGS: Readonly<Record<string, Setting>> = { ...CLI_SETTINGS, ...OPTION_SETTINGS }

/** `maxQueue` → `max-queue`. */
function flagOf (name: string): string {
  return name.replace(/[A-Z]/g, upper => `-${upper.toLowerCase()}`)
}

/** `maxQueue` → `BAYEUX_MAX_QUEUE`. */
function envOf (name: string): string {
  return `BAYEUX_${flagOf(name).replaceAll('-', '_').toUpperCase()}`
}

function isBoolean (schema: SettingSchema): boolean {
  return 'type' in schema && schema.type === 'boolean'
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

/** The text of each flag given, by setting name (`true` or `false` for a boolean's bare or `--no-` form). */
function readFlags (argv: readonly string[]): Map<string, string> | 'help' {
  const texts = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--help' || arg === '-h') return 'help'
    const [, flag, inline] = /^--([^=]+)(?:=(.*))?$/s.exec(arg) ?? []
    if (flag === undefined) throw new Error(`unexpected argument: ${JSON.stringify(arg)}`)
    const negated = flag.startsWith('no-') ? NAME_OF_FLAG.get(flag.slice(3)) : undefined
    if (negated !== undefined && isBoolean(SETTINGS[negated]!) && inline === undefined) {
      texts.set(negated, 'false')
      continue
    }
    const name = NAME_OF_FLAG.get(flag)
    if (name === undefined) throw new Error(`--${flag}: no such flag`)
    if (isBoolean(SETTINGS[name]!)) {
      texts.set(name, inline ?? 'true')
      continue
    }
    const text = inline ?? argv[++i]
    if (text === undefined || (inline === undefined && text.startsWith('--'))) throw new Error(`--${flag}: needs a value`)
    texts.set(name, text)
  }
  return texts
}

/** Flags, then environment variables, then defaults. Throws on a bad value, naming its flag. */
export function readOptions (argv: readonly string[], env: NodeJS.ProcessEnv): ServerOptions | 'help' {
  const flags = readFlags(argv)
  if (flags === 'help') return 'help'
  const values: Record<string, unknown> = {}
  for (const [name, setting] of Object.entries(SETTINGS)) {
    const text = flags.get(name) ?? env[envOf(name)]
    if (text === undefined) continue
    try {
      values[name] = parse(setting, text)
    } catch (error) {
      throw new Error(`--${flagOf(name)}: ${(error as Error).message}`)
    }
  }
  // Out-of-range values are usage errors too, reported before anything listens.
  const [problem] = settingProblems(values)
  if (problem !== undefined) throw new Error(`--${flagOf(problem.setting)}: ${problem.message}`)
  // Observability (issue 12): the metrics listener needs a port of its own.
  if (values['metricsPort'] !== undefined && values['metricsPort'] !== 0 && values['metricsPort'] === (values['port'] ?? CLI_SETTINGS.port.default)) {
    throw new Error('--metrics-port: must differ from --port')
  }
  const { logLevel, ...options } = values as ServerOptions & { logLevel?: string }
  return logLevel === undefined ? options : { ...options, logger: { level: logLevel } }
}

interface Row {
  readonly flag: string
  readonly env: string
  readonly value: string
  readonly fallback: string
  readonly description: string
}

/** What a setting's text may be, from its schema. */
function valueText (schema: SettingSchema): string {
  if ('enum' in schema) return `one of ${schema.enum.join(', ')}`
  switch (schema.type) {
    case 'string':
      return 'text'
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
      return `comma-separated list${'enum' in schema.items ? ` of ${schema.items.enum.join(', ')}` : ''}`
  }
}

/** One row per setting: what both `--help` and the README table show. */
function rows (): Row[] {
  return Object.entries(SETTINGS).map(([name, setting]) => ({
    flag: isBoolean(setting) ? `--[no-]${flagOf(name)}` : `--${flagOf(name)}`,
    env: envOf(name),
    value: valueText(setting),
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
    '',
    'Serves Bayeux (CometD) over long-polling, callback-polling and WebSocket.',
    'Each flag can be set by its environment variable instead; the flag wins.',
    'A boolean flag alone means true, and --no-<flag> false.',
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
  let options: ServerOptions | 'help'
  try {
    options = readOptions(argv, process.env)
  } catch (error) {
    process.stderr.write(`bayeux-server: ${(error as Error).message}\n\n${usage()}`)
    process.exitCode = 2
    return
  }
  if (options === 'help') {
    process.stdout.write(usage())
    return
  }
  const server = await createServer(options)
  process.stdout.write(`bayeux-server: serving ${server.url}\n`)
  if (server.metricsUrl !== undefined) process.stdout.write(`bayeux-server: metrics at ${server.metricsUrl}\n`)
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    server.fastify.log.info({ signal }, 'shutting down')
    server.close().then(() => process.exit(0), error => {
      server.fastify.log.error({ err: error }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))
}
