// The benchmark at toy size, for spec/e2e/bench*.test.ts, checking only that what was published
// arrived and that the figures of the report are there (never how fast). Every server runs the
// reference scenario (many channels per session, the most of what a server implements) over each
// transport it offers. The other scenarios' code is the same whatever the server and transport
// (which only the load generator's links depend on): ours runs fanout over ws and c10k over lp.
import type { Test } from 'tap'
import { measureCase, type MeasurePlan } from './measure.ts'
import type { Case } from './plan.ts'
import { SERVERS, type ServerName } from '../servers/catalog.ts'
import { RedisProbe } from '../servers/redis-probe.ts'

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'

const SMOKE_PLAN: MeasurePlan = {
  stepped: { targets: [400], stepMs: 300, drainMs: 10_000, maxDrainMs: 15_000, payloadBytes: 50, warmUpMs: 0 },
  idleMs: 100,
  timeoutMs: 30_000,
  redisUrl: REDIS_URL,
  redisCostMs: 300
}

const CASES: Case[] = [
  { scenario: 'reference', transport: 'ws', size: 20, nodes: 1 },
  { scenario: 'reference', transport: 'lp', size: 20, nodes: 1 },
  { scenario: 'fanout', transport: 'ws', size: 20, nodes: 1 },
  { scenario: 'c10k', transport: 'lp', size: 20, nodes: 1 }
]

/** A number a report could print. */
const figure = (value: number | undefined): boolean => value !== undefined && Number.isFinite(value) && value >= 0

// Tap's hooks (NODE_OPTIONS) are for test processes; the servers and agents start faster without them.
delete process.env['NODE_OPTIONS']

export async function smokeTest (t: Test, name: ServerName): Promise<void> {
  const definition = SERVERS[name]
  const unavailable = definition.unavailable()
  if (unavailable !== undefined) {
    t.plan(0, `${definition.label}: ${unavailable}`)
    return
  }
  for (const testCase of CASES) {
    if (!definition.transports.includes(testCase.transport)) continue
    if (name !== 'ours' && testCase.scenario !== 'reference') continue
    await t.test(`${testCase.scenario} over ${testCase.transport}`, async (t) => {
      const record = await measureCase(SMOKE_PLAN, testCase, definition, undefined, () => undefined)
      t.equal(record.failed, undefined, 'ran')
      if (testCase.scenario === 'c10k') {
        t.equal(record.c10k?.opened, testCase.size, 'every session opened')
        t.equal(record.c10k?.broadcastDelivered, testCase.size, 'the broadcast reached every session')
        const c10k = record.c10k
        t.ok(figure(c10k?.connectSeconds) && figure(c10k?.idleCpuPercent) && figure(c10k?.broadcastMs) && Number.isFinite(c10k?.rssPerSessionKiB), 'time, CPU and memory figures')
        return
      }
      const step = record.steps?.[0]
      t.ok(step !== undefined && step.delivered > 0, 'messages arrived')
      t.equal(step?.delivered, step?.expected, 'every expected delivery arrived')
      t.equal(step?.duplicates, 0, 'no duplicates')
      t.equal(step?.outOfOrder, 0, 'nothing out of order')
      t.ok(figure(step?.p99Ms) && figure(step?.serverCpuMicrosPerDelivery) && figure(step?.generatorCpuPercent) && (step?.serverRssMiB ?? 0) > 0, 'latency, CPU and memory figures')
    })
  }
}

/**
 * A server kind on two nodes sharing the Redis at BENCH_REDIS_URL (default 127.0.0.1:6379),
 * publishers on one node and subscribers on the other: every message crossed Redis, the Redis
 * figures are there, and nothing is left under the run's key prefix. Ours also runs the
 * redis-cost scenario over long-polling, which says when its last delivery came.
 */
export async function redisSmokeTest (t: Test, name: ServerName): Promise<void> {
  const definition = SERVERS[name]
  const unavailable = definition.unavailable() ?? (await RedisProbe.unreachable(REDIS_URL))
  if (unavailable !== undefined) {
    t.plan(0, `${definition.label}: ${unavailable}`)
    return
  }
  const log: string[] = []
  const record = await measureCase(SMOKE_PLAN, { scenario: 'cross', transport: 'ws', size: 20, nodes: 2 }, definition, undefined, (line) => log.push(line))
  t.equal(record.failed, undefined, 'ran')
  const step = record.steps?.[0]
  t.ok(step !== undefined && step.delivered > 0, 'messages arrived')
  t.equal(step?.delivered, step?.expected, 'every delivery crossed from the publishers\' node to the subscribers\'')
  t.ok(step !== undefined && step.published > 0 && Number.isFinite(step.serverCpuMicrosPerDelivery), 'server CPU per delivery, summed over both nodes')
  const redis = step?.redis
  t.ok(redis !== undefined && redis.commandsPerPublish >= 1 && Number.isFinite(redis.commandsPerPublish), `Redis commands per publish: ${redis?.commandsPerPublish}`)
  const probe = await RedisProbe.connect(REDIS_URL)
  if (probe.pid !== undefined) t.ok(redis?.cpuPercent !== undefined && redis.cpuPercent >= 0, `Redis CPU: ${redis?.cpuPercent}%`)
  // faye-redis loses a few deliveries over long-polling (RESULTS.md), and each loss would cost the wait.
  if (name === 'ours-redis') {
    const cost = (await measureCase(SMOKE_PLAN, { scenario: 'redis-cost', transport: 'lp', size: 20, nodes: 2 }, definition, undefined, () => undefined)).steps?.[0]
    t.ok(cost !== undefined && cost.delivered > 0 && cost.delivered === cost.expected, `redis-cost over long-polling: ${cost?.delivered} of ${cost?.expected} delivered`)
    t.ok(cost !== undefined && cost.sessionsLost === 0 && cost.lastDeliverySeconds > 0 && cost.lastDeliverySeconds <= cost.seconds, 'no session lost, and when the last delivery came')
  }
  t.equal(await probe.deleteKeys(`bench:${name}:${process.pid}:`), 0, 'the run removed its keys')
  await probe.close()
}
