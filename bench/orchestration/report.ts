// Renders bench/RESULTS.md: per scenario, every server side by side, then the per-step details.
import { execFileSync } from 'node:child_process'
import { cpus, loadavg, release } from 'node:os'
import type { CoreLayout } from '../os/cpu-pinning.ts'
import type { Case, Plan } from './plan.ts'
import type { C10kResult } from '../scenarios/c10k.ts'
import { LATENCY_BOUND_MS, type StepResult } from '../scenarios/stepped.ts'
import { chatRooms } from '../scenarios/workloads.ts'
import { SERVERS, type ServerName } from '../servers/catalog.ts'

export interface RunRecord extends Case {
  server: ServerName
  steps?: StepResult[]
  c10k?: C10kResult
  skipped?: string
  failed?: string
  /** redis-cost: Redis commands per second with the sessions open and nothing published. */
  redisIdleCommandsPerSecond?: number
}

export interface ReportInput {
  plan: Plan
  records: RunRecord[]
  started: Date
  finished: Date
  cores: CoreLayout | undefined
  argv: string[]
  /** os.loadavg() when the run started. */
  loadAtStart: number[]
  /** The Redis the multi-node servers shared, when any did. */
  redis?: { url: string, version: string, pid: number | undefined }
}

/** A generator above this share of its core may be what limits a step, not the server. */
const GENERATOR_SATURATED_PERCENT = 90

const integer = (value: number): string => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—')
const fixed = (value: number | undefined, digits = 1): string => (value !== undefined && Number.isFinite(value) ? value.toFixed(digits) : '—')
const ratio = (value: number | undefined, reference: number | undefined): string =>
  value !== undefined && reference !== undefined && Number.isFinite(value) && Number.isFinite(reference) && reference > 0 ? `${(value / reference).toFixed(2)}×` : '—'

function table (header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n')
}

/** The highest-throughput step that kept p99 within bounds with nothing lost. */
function capacity (steps: StepResult[] | undefined): StepResult | undefined {
  return steps?.filter((step) => step.withinBounds).sort((a, b) => b.deliveredPerSecond - a.deliveredPerSecond)[0]
}

/**
 * The highest offered load every measured server delivered completely (latency aside): CPU per
 * delivery is compared there, so that every row did the same work.
 */
function commonTarget (records: RunRecord[]): number | undefined {
  const measured = records.filter((record) => record.steps !== undefined)
  const passed = measured.map((record) => new Set(record.steps!.filter((step) => step.lost === 0).map((step) => step.offeredPerSecond)))
  const candidates = measured[0]?.steps?.map((step) => step.offeredPerSecond) ?? []
  return candidates.filter((target) => passed.every((set) => set.has(target))).at(-1)
}

/** Why the last step is out of bounds, if it is (earlier breaks may be noise; the last one ended the run). */
function lastBreak (steps: StepResult[] | undefined): string {
  const broken = steps?.at(-1)
  if (broken?.withinBounds) return 'none (no higher step)'
  if (broken === undefined) return 'none'
  const reasons = [
    broken.p99Ms > LATENCY_BOUND_MS ? `p99 ${fixed(broken.p99Ms)} ms` : '',
    broken.deliveredPerSecond < 0.9 * broken.offeredPerSecond ? `only ${integer(broken.deliveredPerSecond)}/s delivered` : '',
    broken.lost > 0 ? `${integer(broken.lost)} lost` : '',
    broken.duplicates > 0 ? `${broken.duplicates} dup` : '',
    broken.outOfOrder > 0 ? `${broken.outOfOrder} out of order` : '',
    broken.errors > 0 ? `${broken.errors} errors` : ''
  ].filter((reason) => reason !== '')
  return `${integer(broken.offeredPerSecond)}/s: ${reasons.join(', ')}`
}

function unmeasured (record: RunRecord): string | undefined {
  return record.skipped !== undefined ? `skipped: ${record.skipped}` : record.failed !== undefined ? `failed: ${record.failed}` : undefined
}

/** The practical limit of each transport: a bare server of the same transport that does only the writes. */
const LIMITS: Record<Case['transport'], ServerName> = { ws: 'raw-ws', lp: 'raw-http' }

/** Faye as deployed the same way as the table's servers: on Redis when any of them is. */
function fayeOf (records: RunRecord[]): RunRecord | undefined {
  return records.find((record) => record.server === 'faye-redis') ?? records.find((record) => record.server === 'faye')
}

const pad = (row: string[], length: number): string[] => [...row, ...Array<string>(Math.max(0, length - row.length)).fill('')]

function steppedSection (records: RunRecord[], transport: Case['transport']): string {
  const target = commonTarget(records)
  const stepAt = (record: RunRecord | undefined): StepResult | undefined => record?.steps?.find((step) => step.offeredPerSecond === target)
  const cpuAt = (record: RunRecord | undefined): number | undefined => stepAt(record)?.serverCpuMicrosPerDelivery
  const faye = fayeOf(records)
  const limit = records.find((record) => record.server === LIMITS[transport])
  const withRedis = records.some((record) => record.steps?.some((step) => step.redis !== undefined))
  const nodes = records[0]?.nodes ?? 1
  const header = [
    'server',
    `delivered/s at p99 ≤ ${LATENCY_BOUND_MS} ms, no loss`,
    'p50 / p99 / max ms there',
    '×Faye',
    '×limit',
    `server CPU µs/delivery${nodes > 1 ? ` (${nodes} nodes summed)` : ''} at ${target === undefined ? '—' : `${integer(target)}/s`}`,
    '×Faye',
    '×limit',
    'generator CPU there',
    'last step (what ended the run)',
    ...(withRedis ? ['Redis CPU µs/delivery there', 'Redis commands/publish there'] : [])
  ]
  const summary = records.map((record) => {
    const best = capacity(record.steps)
    const note = unmeasured(record)
    if (note !== undefined) return pad([SERVERS[record.server].label, note], header.length)
    const saturated = best !== undefined && best.generatorCpuPercent >= GENERATOR_SATURATED_PERCENT ? ' ⚠' : ''
    const redis = stepAt(record)?.redis
    return [
      SERVERS[record.server].label,
      best === undefined ? 'below first step' : integer(best.deliveredPerSecond),
      best === undefined ? '—' : `${fixed(best.p50Ms)} / ${fixed(best.p99Ms)} / ${fixed(best.maxMs)}`,
      ratio(best?.deliveredPerSecond, capacity(faye?.steps)?.deliveredPerSecond),
      ratio(best?.deliveredPerSecond, capacity(limit?.steps)?.deliveredPerSecond),
      fixed(cpuAt(record), 2),
      ratio(cpuAt(record), cpuAt(faye)),
      ratio(cpuAt(record), cpuAt(limit)),
      best === undefined ? '—' : `${fixed(best.generatorCpuPercent, 0)}%${saturated}`,
      lastBreak(record.steps),
      ...(withRedis ? [fixed(redis?.cpuMicrosPerDelivery, 2), fixed(redis?.commandsPerPublish, 1)] : [])
    ]
  })
  const details = records
    .filter((record) => record.steps !== undefined)
    .map((record) =>
      [
        `<details><summary>${SERVERS[record.server].label}: every step</summary>\n`,
        table(
          [
            'offered/s', 'delivered/s', 'p50 ms', 'p99 ms', 'max ms', 'lost', 'dup', 'out of order', 'server CPU', 'server µs/delivery', 'server RSS MiB', 'generator CPU', 'errors',
            ...(withRedis ? ['Redis CPU', 'Redis µs/delivery', 'Redis commands/publish'] : [])
          ],
          record.steps!.map((step) => [
            integer(step.offeredPerSecond),
            integer(step.deliveredPerSecond),
            fixed(step.p50Ms),
            fixed(step.p99Ms),
            fixed(step.maxMs),
            integer(step.lost),
            integer(step.duplicates),
            integer(step.outOfOrder),
            `${fixed(step.serverCpuPercent, 0)}%`,
            fixed(step.serverCpuMicrosPerDelivery, 2),
            fixed(step.serverRssMiB, 0),
            `${fixed(step.generatorCpuPercent, 0)}%`,
            step.errors === 0 ? '0' : `${step.errors} (${step.lastError.replaceAll('|', '/')})`,
            ...(withRedis ? [step.redis?.cpuPercent === undefined ? '—' : `${fixed(step.redis.cpuPercent, 0)}%`, fixed(step.redis?.cpuMicrosPerDelivery, 2), fixed(step.redis?.commandsPerPublish, 1)] : [])
          ])
        ),
        '\n</details>'
      ].join('\n')
    )
  return [table(header, summary), ...details].join('\n\n')
}

/**
 * Redis commands per publish as the subscribers grow, one row per server and size. "idle" is
 * what the open sessions cost Redis over the same time with nothing published; "net" leaves it out.
 */
function redisCostSection (records: RunRecord[]): string {
  const servers = [...new Set(records.map((record) => record.server))]
  const rows = [...records]
    .sort((a, b) => servers.indexOf(a.server) - servers.indexOf(b.server) || a.size - b.size)
    .map((record) => {
      const note = unmeasured(record)
      const step = record.steps?.[0]
      if (note !== undefined || step === undefined) return pad([SERVERS[record.server].label, integer(record.size), note ?? 'no step'], 11)
      const idle = record.redisIdleCommandsPerSecond === undefined ? undefined : (record.redisIdleCommandsPerSecond * step.seconds) / step.published
      const commands = step.redis?.commandsPerPublish
      return [
        SERVERS[record.server].label,
        integer(record.size),
        integer(step.published),
        fixed(commands, 1),
        fixed(idle, 1),
        fixed(commands === undefined || idle === undefined ? undefined : commands - idle, 1),
        fixed(step.redis?.cpuMicrosPerDelivery, 2),
        fixed(step.serverCpuMicrosPerDelivery, 2),
        `${integer(step.delivered)} / ${integer(step.expected)}${step.sessionsLost > 0 ? ` (${integer(step.sessionsLost)} sessions expired)` : ''}`,
        fixed(step.lastDeliverySeconds, 1),
        step.redis?.topCommands.map(([name, calls]) => `${name} ${fixed(calls)}`).join(', ') ?? ''
      ]
    })
  return table(
    [
      'server', 'subscribers', 'publishes', 'Redis commands/publish', 'of which idle', 'net of idle', 'Redis CPU µs/delivery', 'server CPU µs/delivery (nodes summed)', 'delivered / expected',
      'last delivery, s into the step', 'most frequent commands, per publish (idle included)'
    ],
    rows
  )
}

function c10kSection (records: RunRecord[], transport: Case['transport']): string {
  const faye = records.find((record) => record.server === 'faye')?.c10k
  const limit = records.find((record) => record.server === LIMITS[transport])?.c10k
  return table(
    ['server', 'sessions open', 'connect time s', 'server RSS MiB', 'RSS per session KiB', '×Faye', '×limit', 'idle server CPU', 'one broadcast reaches half / all, ms', 'received'],
    records.map((record) => {
      const note = unmeasured(record)
      const result = record.c10k
      if (note !== undefined || result === undefined) return [SERVERS[record.server].label, note ?? '', '', '', '', '', '', '', '', '']
      return [
        SERVERS[record.server].label,
        `${integer(result.opened)} / ${integer(result.sessions)}${result.failed > 0 ? ` (${result.lastError})` : ''}`,
        fixed(result.connectSeconds),
        fixed(result.serverRssMiB, 0),
        fixed(result.rssPerSessionKiB),
        ratio(result.rssPerSessionKiB, faye?.rssPerSessionKiB),
        ratio(result.rssPerSessionKiB, limit?.rssPerSessionKiB),
        `${fixed(result.idleCpuPercent)}%`,
        `${fixed(result.broadcastHalfMs, 0)} / ${fixed(result.broadcastMs, 0)}`,
        integer(result.broadcastDelivered)
      ]
    })
  )
}

const TITLES = {
  reference: (size: number) => `CometD reference scenario: ${integer(size)} clients, ${chatRooms(size).channels.length} rooms, 10 rooms each, 50-byte messages`,
  fanout: (size: number) => `Broadcast fan-out: ${integer(size)} subscribers on one channel`,
  c10k: (size: number) => `c10k: ${integer(size)} idle sessions`,
  cross: (size: number) => `Cross-node fan-out: ${integer(size)} subscribers on one channel, publishers on the first node, subscribers on the others`,
  'redis-cost': () => 'Redis commands per publish as subscribers grow (publishers on the first node, subscribers on the others)'
}

/** The commit measured: ours runs from dist/, built from this tree. */
function revision (): string {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], { encoding: 'utf8' }).trim()
  } catch {
    return 'unknown'
  }
}

function machine (input: ReportInput): string {
  const model = cpus()[0]?.model ?? 'unknown'
  const [one, five] = input.loadAtStart
  const [oneAtEnd] = loadavg()
  return [
    `- CPU: ${cpus().length} × ${model}; Linux ${release()}; Node ${process.version}; bayeux-server at \`${revision()}\``,
    input.cores === undefined
      ? '- No pinning (taskset missing or a single core): server and generator share the cores.'
      : `- Server (every node) pinned to core(s) ${input.cores.server}, load generator (all agents) to core(s) ${input.cores.generator} with \`taskset\`.`,
    ...(input.redis === undefined
      ? []
      : [
          `- Redis ${input.redis.version} at ${input.redis.url}, not pinned, shared with whatever else uses it: its command counts (INFO commandstats) are of every client. ` +
            (input.redis.pid === undefined ? 'Not on this machine: its CPU is not measured.' : `Its CPU is read from /proc/${input.redis.pid}/stat.`)
        ]),
    `- Load average at the start: ${fixed(one, 2)} (1 min), ${fixed(five, 2)} (5 min); at the end: ${fixed(oneAtEnd, 2)}. ` +
      'Anything near or above the core count means other work competed for the cores and latencies are inflated.'
  ].join('\n')
}

export function renderReport (input: ReportInput): string {
  const minutes = (input.finished.getTime() - input.started.getTime()) / 60_000
  const sections: string[] = []
  // redis-cost gets one table for all its sizes; every other scenario one table per size.
  const keyOf = (record: RunRecord): string => `${record.scenario}|${record.scenario === 'redis-cost' ? 0 : record.size}|${record.transport}|${record.nodes}`
  const multiNode = input.records.some((record) => record.nodes > 1 || SERVERS[record.server].redis)
  for (const key of [...new Set(input.records.map(keyOf))]) {
    const [scenario, size, transport, nodes] = key.split('|') as [Case['scenario'], string, Case['transport'], string]
    const records = input.records.filter((record) => keyOf(record) === key)
    const where = multiNode ? `, ${nodes} node${nodes === '1' ? '' : 's'}` : ''
    const heading = `## ${TITLES[scenario](Number(size))} — ${transport === 'ws' ? 'WebSocket' : 'long-polling'}${where}`
    const body = scenario === 'c10k' ? c10kSection(records, transport) : scenario === 'redis-cost' ? redisCostSection(records) : steppedSection(records, transport)
    sections.push(`${heading}\n\n${body}`)
  }
  const mode = input.plan.quick ? 'quick' : 'full'
  return [
    '# Benchmark results',
    '',
    `${mode} run, ${input.started.toISOString()}, ${fixed(minutes)} minutes: \`npm run bench${input.argv.length > 0 ? ` -- ${input.argv.join(' ')}` : ''}\``,
    '',
    machine(input),
    `- Steps of ${input.plan.stepped.stepMs / 1000} s, ${input.plan.stepped.drainMs / 1000} s allowed for stragglers (the redis-cost step waits for every delivery); servers hold connects for ${input.plan.timeoutMs / 1000} s. See bench/README.md for how to read these tables.`,
    '',
    ...sections.flatMap((section) => [section, ''])
  ].join('\n')
}
