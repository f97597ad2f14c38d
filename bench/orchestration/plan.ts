import { parseArgs } from 'node:util'
import type { Transport } from '../loadgen/protocol.ts'
import type { SteppedOptions } from '../scenarios/stepped.ts'
import { SERVERS, type ServerName } from '../servers/catalog.ts'

export type ScenarioName = 'reference' | 'fanout' | 'c10k'

/** One measurement: a scenario at one size over one transport, repeated for every server. */
export interface Case {
  scenario: ScenarioName
  transport: Transport
  size: number
}

export interface Plan {
  cases: Case[]
  servers: ServerName[]
  quick: boolean
  stepped: SteppedOptions
  idleMs: number
  timeoutMs: number
  out: string
}

const FULL_TARGETS = [5_000, 10_000, 20_000, 35_000, 50_000, 75_000, 100_000, 150_000, 200_000, 300_000]
const QUICK_TARGETS = [5_000, 20_000, 50_000, 100_000]

/** Default sizes per scenario and transport (c10k: 10,000 held long-polls, 15,000 idle websockets). */
function defaultSizes (scenario: ScenarioName, transport: Transport, quick: boolean): number[] {
  if (scenario === 'reference') return [1000]
  if (scenario === 'fanout') return quick ? [1000] : [1000, 10_000]
  if (quick) return [1000]
  return transport === 'lp' ? [10_000] : [15_000]
}

function list<T extends string> (value: string, allowed: readonly T[], flag: string): T[] {
  const items = value.split(',').map((item) => item.trim()) as T[]
  const unknown = items.filter((item) => !allowed.includes(item))
  if (unknown.length > 0) throw new Error(`--${flag}: unknown ${unknown.join(', ')} (choose from ${allowed.join(', ')})`)
  return items
}

export function parsePlan (argv: string[]): Plan {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: 'string', default: 'reference,fanout,c10k' },
      transport: { type: 'string', default: 'ws,lp' },
      size: { type: 'string' },
      server: { type: 'string', default: 'ours,faye,cometd,raw-ws,raw-http' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: new URL('../RESULTS.md', import.meta.url).pathname }
    }
  })
  const quick = values.quick
  const scenarios = list(values.scenario, ['reference', 'fanout', 'c10k'] as const, 'scenario')
  const transports = list(values.transport, ['ws', 'lp'] as const, 'transport')
  const cases = scenarios.flatMap((scenario) =>
    transports.flatMap((transport) =>
      (values.size === undefined ? defaultSizes(scenario, transport, quick) : [Number(values.size)]).map((size) => ({ scenario, transport, size }))
    )
  )
  return {
    cases,
    servers: list(values.server, Object.keys(SERVERS) as ServerName[], 'server'),
    quick,
    stepped: {
      targets: quick ? QUICK_TARGETS : FULL_TARGETS,
      stepMs: quick ? 1000 : 3000,
      drainMs: quick ? 1000 : 2000,
      payloadBytes: 50,
      warmUpMs: quick ? 500 : 1000
    },
    idleMs: quick ? 1000 : 5000,
    timeoutMs: 30_000,
    out: values.out
  }
}
