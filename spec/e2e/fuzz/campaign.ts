/**
 * One fuzz campaign: a server started with startServer, real CometD clients running
 * alongside (canary.ts), and generated payloads sent at long-polling, callback-polling
 * and WebSocket, `concurrency` at a time. After every group of payloads: no error was
 * logged (an error log means a handler threw) and Object.prototype is untouched.
 * Shared by spec/e2e/fuzz.test.ts (bounded) and spec/e2e/fuzz/long-run.ts.
 */
import fc from 'fast-check'
import type { FastifyBaseLogger } from 'fastify'
import type { RunningServer, ServerOptions } from '../../../lib/index.ts'
import { startServer } from '../../helpers.ts'
import { preview } from './body.ts'
import { Canary } from './canary.ts'
import { FuzzFailure, HttpSlots, callbackPollingDriver, longPollingDriver, webSocketDriver } from './drivers.ts'
import type { Driver } from './drivers.ts'

interface Teardown { teardown (fn: () => unknown): void }

export interface CampaignOptions {
  seed: number
  /** Payloads in total, shared evenly by the three transports. */
  runs: number
  /** Payloads in flight per transport. */
  concurrency?: number
  /** Shrink a failure to a smaller input (slow: every attempt may wait for timeouts). */
  shrink?: boolean
  /** Options over the campaign's own server options, to fuzz other configurations. */
  server?: ServerOptions
  /** Fuzz the three transports at the same time (and move long-polling sessions onto WebSockets meanwhile). */
  parallel?: boolean
  /** Progress lines, for long runs. */
  progress?: (line: string) => void
}

export interface CampaignResult {
  sent: Record<string, number>
  /** Per transport, how payloads were answered. */
  outcomes: Record<string, Record<string, number>>
  canaryMessages: number
  warnings: number
  elapsedMs: number
}

/**
 * Server options: short holds so the run is fast, limits low enough for the generators to
 * cross them. Sessions the payloads abandon expire within the run; the canary's must not,
 * however long this process, server and clients and generators in one, waits for a core
 * beside other test files: a connect read after the sweep ran is a lost session (it was
 * once, at 3 s).
 */
const MAX_BATCH = 32
const SERVER_OPTIONS = { timeout: 200, maxInterval: 15_000, maxBodySize: 65_536, maxMessagesPerBatch: MAX_BATCH }
/** Strings and nestings: past the body limit over POST and WebSocket; within URL limits over GET. */
const BODY_SIZES = { huge: 70_000, deep: 35_000 }
const QUERY_SIZES = { huge: 1_000, deep: 400 }

interface LogRecord { level: string, object: unknown, message: unknown }

/** A pino-compatible logger that keeps error-level records and counts warnings. */
class CapturedLog {
  readonly errors: LogRecord[] = []
  warnings = 0
  readonly logger: FastifyBaseLogger

  constructor () {
    const noop = (): void => {}
    const error = (level: string) => (object: unknown, message?: unknown): void => { this.errors.push({ level, object, message }) }
    const logger = {
      level: 'warn',
      trace: noop,
      debug: noop,
      info: noop,
      silent: noop,
      warn: () => { this.warnings++ },
      error: error('error'),
      fatal: error('fatal'),
      child: () => logger
    }
    this.logger = logger as unknown as FastifyBaseLogger
  }
}

const PROTOTYPES = [Object.prototype, Array.prototype, Function.prototype, String.prototype]

function prototypeKeys (): string {
  return PROTOTYPES.map(proto => Reflect.ownKeys(proto).map(String).sort().join(',')).join('|')
}

function describeError (record: LogRecord): string {
  const object = record.object as { err?: Error } | undefined
  const err = object?.err
  return `${record.level}: ${String(record.message)}${err instanceof Error ? `: ${err.stack?.split('\n').slice(0, 4).join(' | ')}` : ''}`
}

export async function runCampaign (t: Teardown, options: CampaignOptions): Promise<CampaignResult> {
  const { seed, runs, concurrency = 16, shrink = false, parallel = false, progress } = options
  const started = Date.now()
  const log = new CapturedLog()
  const server: RunningServer = await startServer(t, { ...SERVER_OPTIONS, ...options.server, logger: log.logger })
  server.bayeux.listen('/service/echo', message => ({ echo: message.data }))
  const cleanPrototypes = prototypeKeys()
  const canary = await Canary.start(server.url)
  const httpSessions = new HttpSlots(server)
  const drivers: Array<Driver<any>> = [
    longPollingDriver(server, BODY_SIZES, MAX_BATCH, httpSessions),
    callbackPollingDriver(server, QUERY_SIZES, MAX_BATCH),
    webSocketDriver(server, BODY_SIZES, MAX_BATCH, parallel ? httpSessions : undefined)
  ]
  /** Set on the first failure: in parallel mode the other transports stop too. */
  let stopped = false
  const fuzz = async (driver: Driver<any>, index: number): Promise<void> => {
    const groups = Math.ceil(runs / drivers.length / concurrency)
    const property = fc.asyncProperty(fc.array(driver.arbitrary, { minLength: concurrency, maxLength: concurrency }), async cases => {
      if (stopped) return
      const errorsBefore = log.errors.length
      const outcomes = await Promise.allSettled(cases.map((c, worker) => driver.run(c, worker)))
      for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason
      // Which input of the group made a handler throw is unknown: all of them are shown.
      const inputs = (): string => outcomes.map(o => `\n  input:  ${preview((o as PromiseFulfilledResult<string | Uint8Array>).value, 300)}`).join('')
      const logged = log.errors.slice(errorsBefore)
      if (logged.length > 0) throw new FuzzFailure(`${driver.name}: the server logged ${logged.map(describeError).join('; ')}${inputs()}`)
      if (prototypeKeys() !== cleanPrototypes) throw new FuzzFailure(`${driver.name}: a built-in prototype gained or lost properties${inputs()}`)
      if (progress !== undefined && driver.sent % (concurrency * 100) === 0) progress(`${driver.name}: ${driver.sent} payloads`)
    })
    const details = await fc.check(property, { seed: seed + index, numRuns: groups, endOnFailure: !shrink })
    if (details.failed) {
      const error = details.errorInstance
      const detail = error instanceof FuzzFailure ? error.message : error instanceof Error ? error.stack : String(error)
      stopped = true
      throw new FuzzFailure(`seed ${details.seed}, path ${details.counterexamplePath}: ${detail}`)
    }
  }
  let report
  try {
    if (parallel) await Promise.all(drivers.map(fuzz))
    else for (const [index, driver] of drivers.entries()) await fuzz(driver, index)
    report = await canary.stop()
  } finally {
    for (const driver of drivers) driver.close()
    if (report === undefined) canary.halt()
  }
  if (report.problems.length > 0) throw new FuzzFailure(`the well-behaved client suffered: ${report.problems.join('; ')}`)
  if (log.errors.length > 0) throw new FuzzFailure(`the server logged ${log.errors.map(describeError).join('; ')}`)
  return {
    sent: Object.fromEntries(drivers.map(driver => [driver.name, driver.sent])),
    outcomes: Object.fromEntries(drivers.map(driver => [driver.name, driver.outcomes])),
    canaryMessages: report.published,
    warnings: log.warnings,
    elapsedMs: Date.now() - started
  }
}
