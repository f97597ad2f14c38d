import { parseArgs } from 'node:util'
import type { Transport } from '../loadgen/protocol.ts'
import type { SteppedOptions } from '../scenarios/stepped.ts'
import { SERVERS, type ServerName } from '../servers/catalog.ts'

/**
 * `cross` is fan-out with the publishers on node 0 and the subscribers on the other nodes;
 * `redis-cost` is the same at a low, fixed rate, to count Redis commands per publish.
 */
export type ScenarioName = 'reference' | 'fanout' | 'c10k' | 'cross' | 'redis-cost'

/** One measurement: a scenario at one size over one transport on some nodes, repeated for every server. */
export interface Case {
  scenario: ScenarioName
  transport: Transport
  size: number
  /** Server processes; more than one only for servers that share state through Redis. */
  nodes: number
}

export interface Plan {
  cases: Case[]
  servers: ServerName[]
  quick: boolean
  stepped: SteppedOptions
  idleMs: number
  timeoutMs: number
  out: string
  /** The Redis that multi-node servers share (--redis). */
  redisUrl: string
  /** How long the redis-cost step publishes, and how long the idle window before it lasts. */
  redisCostMs: number
}

const FULL_TARGETS = [5_000, 10_000, 20_000, 35_000, 50_000, 75_000, 100_000, 150_000, 200_000, 300_000]
const QUICK_TARGETS = [5_000, 20_000, 50_000, 100_000]
/**
 * Steps below 5k for runs on Redis: faye-redis queues every delivery in Redis and can fall below
 * the first single-process step. (The fan-out of 1,000 needs 1,000/s for one publish a second.)
 */
const REDIS_LOW_TARGETS = [1_000, 2_000]

/** Default sizes per scenario and transport (c10k: 10,000 held long-polls, 15,000 idle websockets). */
function defaultSizes (scenario: ScenarioName, transport: Transport, quick: boolean): number[] {
  if (scenario === 'reference') return [1000]
  if (scenario === 'fanout' || scenario === 'cross') return quick ? [1000] : [1000, 10_000]
  if (scenario === 'redis-cost') return quick ? [10, 100, 1000] : [10, 100, 1000, 10_000]
  if (quick) return [1000]
  return transport === 'lp' ? [10_000] : [15_000]
}

function list<T extends string> (value: string, allowed: readonly T[], flag: string): T[] {
  const items = value.split(',').map((item) => item.trim()) as T[]
  const unknown = items.filter((item) => !allowed.includes(item))
  if (unknown.length > 0) throw new Error(`--${flag}: unknown ${unknown.join(', ')} (choose from ${allowed.join(', ')})`)
  return items
}

/**
 * The node counts each case runs on. Cross-node placement needs a second node; the Redis cost
 * runs once, on the most nodes asked for.
 */
function nodeCounts (scenario: ScenarioName, nodes: number[]): number[] {
  if (scenario === 'cross') return nodes.filter((count) => count >= 2)
  if (scenario === 'redis-cost') return [Math.max(...nodes)]
  return nodes
}

function nodeList (value: string): number[] {
  const counts = value.split(',').map((item) => Number(item.trim()))
  if (counts.some((count) => !Number.isInteger(count) || count < 1)) throw new Error(`--nodes: expected node counts such as 1,2,3, got ${value}`)
  return counts
}

function targetList (value: string): number[] {
  const targets = value.split(',').map((item) => Number(item.trim()))
  if (targets.some((target) => !Number.isFinite(target) || target <= 0)) throw new Error(`--targets: expected offered loads such as 5000,10000, got ${value}`)
  return targets
}

function stepMs (value: string): number {
  const seconds = Number(value)
  if (!Number.isFinite(seconds) || seconds < 1) throw new Error(`--step: expected seconds, at least 1, got ${value}`)
  return seconds * 1000
}

export function parsePlan (argv: string[]): Plan {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: 'string' },
      transport: { type: 'string', default: 'ws,lp' },
      size: { type: 'string' },
      server: { type: 'string' },
      nodes: { type: 'string' },
      redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
      quick: { type: 'boolean', default: false },
      targets: { type: 'string' },
      step: { type: 'string' },
      out: { type: 'string', default: new URL('../RESULTS.md', import.meta.url).pathname }
    }
  })
  const quick = values.quick
  // --nodes turns the run into the multi-node one of issue 10: its own scenarios and servers.
  const multiNode = values.nodes !== undefined
  const nodes = multiNode ? nodeList(values.nodes!) : [1]
  const scenarios = list(values.scenario ?? (multiNode ? 'reference,fanout,cross,redis-cost' : 'reference,fanout,c10k'), ['reference', 'fanout', 'c10k', 'cross', 'redis-cost'] as const, 'scenario')
  const transports = list(values.transport, ['ws', 'lp'] as const, 'transport')
  const cases = scenarios.flatMap((scenario) =>
    transports.flatMap((transport) =>
      (values.size === undefined ? defaultSizes(scenario, transport, quick) : [Number(values.size)]).flatMap((size) =>
        nodeCounts(scenario, nodes).map((count) => ({ scenario, transport, size, nodes: count }))
      )
    )
  )
  if (cases.length === 0) throw new Error('nothing to run: the cross scenario needs --nodes with a count of 2 or more')
  return {
    cases,
    servers: list(values.server ?? (multiNode ? 'ours-redis,faye-redis' : 'ours,faye,cometd,raw-ws,raw-http'), Object.keys(SERVERS) as ServerName[], 'server'),
    quick,
    stepped: {
      targets: values.targets !== undefined ? targetList(values.targets) : [...(multiNode ? REDIS_LOW_TARGETS : []), ...(quick ? QUICK_TARGETS : FULL_TARGETS)],
      // A 1 s step at 1k/s fan-out to 1,000 is one publish, whose tail alone can cost 10% of the rate.
      stepMs: values.step !== undefined ? stepMs(values.step) : quick ? (multiNode ? 2000 : 1000) : 3000,
      drainMs: quick ? 1000 : 2000,
      maxDrainMs: 15_000,
      payloadBytes: 50,
      warmUpMs: quick ? 500 : 1000
    },
    idleMs: quick ? 1000 : 5000,
    timeoutMs: 30_000,
    out: values.out,
    redisUrl: values.redis,
    redisCostMs: quick ? 2000 : 5000
  }
}
