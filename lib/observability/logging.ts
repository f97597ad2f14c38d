/**
 * The standalone server's log format: lines for people on a terminal, JSON (one
 * object a line, pino's own) for log collectors everywhere else.
 */

/** The values of CLI_SETTINGS.logFormat. */
export type LogFormat = 'auto' | 'pretty' | 'json'

/** fastify's `logger` option for pino at `level`, in `format`. */
export interface LoggerOptions {
  readonly level: string
  readonly stream?: NodeJS.WritableStream
}

/** `auto` is pretty when standard output is a terminal. */
export function resolveLogFormat (format: LogFormat, isTTY: boolean = process.stdout.isTTY === true): 'pretty' | 'json' {
  return format === 'auto' ? (isTTY ? 'pretty' : 'json') : format
}

export async function loggerOptions (level: string, format: LogFormat, isTTY?: boolean): Promise<LoggerOptions> {
  if (resolveLogFormat(format, isTTY) === 'json') return { level }
  // Loaded only when used: servers that log JSON, and embedders, never pay for it.
  const { default: pinoPretty } = await import('pino-pretty')
  // Synchronous like pino's own stdout: lines written just before process.exit are not lost.
  return { level, stream: pinoPretty({ sync: true, translateTime: 'SYS:standard', ignore: 'pid,hostname' }) }
}
