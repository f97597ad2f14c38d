import { parseArgs } from 'node:util'
import { createServer } from './standalone.ts'
import type { ServerOptions } from './standalone.ts'
import { DEFAULTS, resolveOptions } from './options.ts'

/** Each flag, its environment variable, and how its text becomes an option. */
const FLAGS = {
  host: { env: 'BAYEUX_HOST', help: 'interface to listen on', fallback: 'localhost', parse: String },
  port: { env: 'BAYEUX_PORT', help: 'port to listen on', fallback: '8080', parse: port },
  path: { env: 'BAYEUX_PATH', help: 'path of the Bayeux endpoint', fallback: DEFAULTS.path, parse: String },
  timeout: { env: 'BAYEUX_TIMEOUT', help: 'ms a connect is held', fallback: String(DEFAULTS.timeout), parse: integer },
  interval: { env: 'BAYEUX_INTERVAL', help: 'ms clients wait between connects', fallback: String(DEFAULTS.interval), parse: integer },
  'max-interval': { env: 'BAYEUX_MAX_INTERVAL', help: 'ms without a connect before a session expires', fallback: String(DEFAULTS.maxInterval), parse: integer },
  'allowed-origins': { env: 'BAYEUX_ALLOWED_ORIGINS', help: 'comma-separated origins allowed cross-origin, or *', fallback: '', parse: list },
  'log-level': { env: 'BAYEUX_LOG_LEVEL', help: 'fatal, error, warn, info, debug, trace or silent', fallback: 'info', parse: level }
} as const

type Flag = keyof typeof FLAGS

function integer (text: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`not a whole number: ${JSON.stringify(text)}`)
  return Number(text)
}

function port (text: string): number {
  const value = integer(text)
  if (value > 65535) throw new Error(`not a port number: ${value}`)
  return value
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

function level (text: string): string {
  if (!LEVELS.includes(text)) throw new Error(`not one of ${LEVELS.join(', ')}: ${JSON.stringify(text)}`)
  return text
}

function list (text: string): string[] {
  return text.split(',').map(item => item.trim()).filter(item => item.length > 0)
}

export function usage (): string {
  const lines = Object.entries(FLAGS).map(([name, flag]) =>
    `  --${name.padEnd(16)} ${flag.help} (env ${flag.env}, default ${flag.fallback === '' ? 'none' : flag.fallback})`)
  return ['Usage: bayeux-server [options]', '', 'Serves Bayeux (CometD) over long-polling, callback-polling and WebSocket.', '', ...lines, '  --help             this text', ''].join('\n')
}

/** Flags, then environment variables, then defaults. Throws on a bad value. */
export function readOptions (argv: string[], env: NodeJS.ProcessEnv): ServerOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...Object.fromEntries(Object.keys(FLAGS).map(name => [name, { type: 'string' as const }])),
      help: { type: 'boolean', short: 'h' }
    },
    strict: true
  })
  if (values['help'] === true) return 'help'
  const text = (name: Flag): string => ((values as Record<string, unknown>)[name] as string | undefined) ?? env[FLAGS[name].env] ?? FLAGS[name].fallback
  const value = <T>(name: Flag): T => {
    try {
      return FLAGS[name].parse(text(name)) as T
    } catch (error) {
      throw new Error(`--${name}: ${(error as Error).message}`)
    }
  }
  const options: ServerOptions = {
    host: value('host'),
    port: value('port'),
    path: value('path'),
    timeout: value('timeout'),
    interval: value('interval'),
    maxInterval: value('max-interval'),
    allowedOrigins: value('allowed-origins'),
    logger: { level: value('log-level') }
  }
  // Out-of-range values are usage errors too, reported before anything listens.
  const { host, port, logger, ...bayeux } = options
  resolveOptions(bayeux)
  return options
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
