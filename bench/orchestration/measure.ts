import type { CoreLayout } from '../os/cpu-pinning.ts'
import { LoadGenerator, type Placement } from '../loadgen/generator.ts'
import type { Case, Plan } from './plan.ts'
import type { RunRecord } from './report.ts'
import { runC10k } from '../scenarios/c10k.ts'
import { runSteps } from '../scenarios/stepped.ts'
import { broadcast, chatRooms, meanFanOut } from '../scenarios/workloads.ts'
import type { ServerDefinition } from '../servers/catalog.ts'
import { RedisProbe } from '../servers/redis-probe.ts'
import { ServerGroup } from '../servers/server-group.ts'

export type MeasurePlan = Pick<Plan, 'stepped' | 'idleMs' | 'timeoutMs' | 'redisUrl' | 'redisCostMs'>

/**
 * The redis-cost scenario publishes this often, less at sizes where that would exceed
 * REDIS_COST_MAX_DELIVERIES a second (faye-redis queues each one in Redis), but at least
 * REDIS_COST_MIN_PUBLISHES times in its step.
 */
const REDIS_COST_PUBLISHES_PER_SECOND = 10
const REDIS_COST_MAX_DELIVERIES = 2_000
const REDIS_COST_MIN_PUBLISHES = 3
/**
 * The redis-cost step waits for every delivery, since over long-polling at 10,000 subscribers
 * on a loaded machine one broadcast's replies and the next connects can take tens of seconds to
 * go round (bench/README.md). It stops once nothing has arrived for a held connect's time, and
 * at most this long after the last publish.
 */
const REDIS_COST_MAX_WAIT_MS = 120_000

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Scenarios whose publishers sit on node 0 and subscribers on the others, so every delivery crosses Redis. */
const crossNode = (testCase: Case): boolean => testCase.scenario === 'cross' || testCase.scenario === 'redis-cost'

function skipReason (definition: ServerDefinition, testCase: Case): string | undefined {
  if (!definition.transports.includes(testCase.transport)) {
    return testCase.transport === 'ws' ? 'no WebSocket transport (long-polling only)' : 'WebSocket only'
  }
  if (testCase.nodes > 1 && !definition.redis) return 'one process only: its nodes would share nothing'
  if (testCase.scenario === 'cross' && testCase.nodes < 2) return 'needs 2 nodes or more'
  if (testCase.scenario === 'redis-cost' && !definition.redis) return 'does not use Redis'
  return definition.unavailable()
}

function placement (testCase: Case, urls: string[]): Placement {
  if (crossNode(testCase) && urls.length >= 2) return { publishers: urls.slice(0, 1), subscribers: urls.slice(1) }
  return { publishers: urls, subscribers: urls }
}

let prefixes = 0
/** A key prefix no other run, case or server kind uses, so that each cleans up only its own keys. */
const keyPrefix = (definition: ServerDefinition): string => `bench:${definition.name}:${process.pid}:${++prefixes}:`

async function measure (
  plan: MeasurePlan,
  testCase: Case,
  definition: ServerDefinition,
  cores: CoreLayout | undefined,
  redis: RedisProbe | undefined,
  prefix: string,
  log: (line: string) => void
): Promise<Partial<RunRecord>> {
  const server = await ServerGroup.start(definition, testCase.nodes, plan.timeoutMs, cores?.server, redis === undefined ? undefined : { url: redis.url, prefix })
  const generator = new LoadGenerator(placement(testCase, server.urls), testCase.transport, testCase.size, cores?.generator)
  try {
    if (testCase.scenario === 'c10k') {
      const c10k = await runC10k(server, generator, testCase.size, plan.idleMs)
      log(
        `  ${c10k.opened}/${c10k.sessions} sessions in ${c10k.connectSeconds.toFixed(1)} s, ${c10k.rssPerSessionKiB.toFixed(1)} KiB each, ` +
          `idle ${c10k.idleCpuPercent.toFixed(1)}% CPU, broadcast reached half in ${c10k.broadcastHalfMs.toFixed(0)} ms, ${c10k.broadcastDelivered} in ${c10k.broadcastMs.toFixed(0)} ms`
      )
      return { c10k }
    }
    const load = testCase.scenario === 'reference' ? chatRooms(testCase.size) : broadcast(testCase.size)
    if (testCase.scenario === 'redis-cost') {
      const rate = Math.max(Math.min(REDIS_COST_PUBLISHES_PER_SECOND, REDIS_COST_MAX_DELIVERIES / testCase.size), (REDIS_COST_MIN_PUBLISHES * 1000) / plan.redisCostMs)
      const opening = await generator.open(load.sessions, rate)
      if (opening.failed > 0) throw new Error(`${opening.failed} sessions failed to open: ${opening.lastError}`)
      // What the open sessions cost Redis with nothing published (held connects, pings, timers).
      const idleStart = await redis!.sample()
      await sleep(plan.redisCostMs)
      const idleEnd = await redis!.sample()
      const redisIdleCommandsPerSecond = ((idleEnd.commands - idleStart.commands) * 1000) / plan.redisCostMs
      const stepped = { ...plan.stepped, targets: [rate * testCase.size], stepMs: plan.redisCostMs, warmUpMs: 0, drainMs: plan.timeoutMs, maxDrainMs: REDIS_COST_MAX_WAIT_MS }
      return { steps: await runSteps(server, generator, load, stepped, log, redis), redisIdleCommandsPerSecond }
    }
    // At least one publish per second, so that every step sends something.
    const targets = plan.stepped.targets.filter((target) => target >= meanFanOut(load))
    const opening = await generator.open(load.sessions, Math.max(...targets) / meanFanOut(load))
    if (opening.failed > 0) throw new Error(`${opening.failed} sessions failed to open: ${opening.lastError}`)
    return { steps: await runSteps(server, generator, load, { ...plan.stepped, targets }, log, redis) }
  } finally {
    await generator.stop()
    await server.stop()
  }
}

/** Runs one case against one server (one process per node); never throws, failures are recorded. */
export async function measureCase (
  plan: MeasurePlan,
  testCase: Case,
  definition: ServerDefinition,
  cores: CoreLayout | undefined,
  log: (line: string) => void
): Promise<RunRecord> {
  const base = { ...testCase, server: definition.name }
  const skipped = skipReason(definition, testCase)
  if (skipped !== undefined) return { ...base, skipped }
  log(`${testCase.scenario} n=${testCase.size} over ${testCase.transport}${testCase.nodes > 1 || definition.redis ? ` on ${testCase.nodes} node(s)` : ''}: ${definition.label}`)
  let redis: RedisProbe | undefined
  const prefix = keyPrefix(definition)
  try {
    if (definition.redis) redis = await RedisProbe.connect(plan.redisUrl)
    return { ...base, ...(await measure(plan, testCase, definition, cores, redis, prefix, log)) }
  } catch (error) {
    log(`  failed: ${(error as Error).message}`)
    return { ...base, failed: (error as Error).message }
  } finally {
    // Whatever the server kind left under its prefix once its nodes are gone; removed here.
    if (redis !== undefined) {
      await redis.deleteKeys(prefix).then(
        (left) => left > 0 && log(`  removed ${left} Redis keys left under ${prefix}`),
        (error: Error) => log(`  could not remove the Redis keys under ${prefix}: ${error.message}`)
      )
      await redis.close().catch(() => {})
    }
  }
}
