import type { LoadGenerator } from '../loadgen/generator.ts'
import type { RedisProbe } from '../servers/redis-probe.ts'
import type { ServerGroup } from '../servers/server-group.ts'
import { meanFanOut, type Workload } from './workloads.ts'

export const LATENCY_BOUND_MS = 50
const POLL_MS = 20
/** Beyond the 50 ms bound, stepping goes on (for CPU and throughput figures) until one of these. */
const GIVE_UP_P99_MS = 1000
const GIVE_UP_DELIVERED_SHARE = 0.9

export interface SteppedOptions {
  /** Offered deliveries per second, one step each, in increasing order. */
  targets: number[]
  stepMs: number
  /** How long to wait after the last publish without any new delivery before counting the rest as lost. */
  drainMs: number
  /** Deliveries still trickling in are waited for this long at most after the last publish. */
  maxDrainMs: number
  payloadBytes: number
  /** A discarded first step at the lowest load: JIT, pools and caches warm up before measuring. */
  warmUpMs: number
}

/** What the Redis shared by the nodes did during one step (multi-node servers only). */
export interface RedisStep {
  /** Every command Redis executed in the step, whoever sent it, divided by the publishes. */
  commandsPerPublish: number
  commands: number
  /** The most frequent commands of the step, with their calls per publish, most first. */
  topCommands: Array<[string, number]>
  /** Redis's own CPU; undefined when it does not run on this machine. */
  cpuPercent: number | undefined
  cpuMicrosPerDelivery: number | undefined
}

export interface StepResult {
  offeredPerSecond: number
  publishesPerSecond: number
  /** Publishes actually sent in the step. */
  published: number
  /** The measured window: publishing, then waiting for the last deliveries. */
  seconds: number
  /** From the start of the step until the last delivery that arrived was seen. */
  lastDeliverySeconds: number
  expected: number
  delivered: number
  deliveredPerSecond: number
  lost: number
  duplicates: number
  outOfOrder: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  serverCpuMicrosPerDelivery: number
  serverCpuPercent: number
  serverRssMiB: number
  generatorCpuPercent: number
  errors: number
  lastError: string
  /** Sessions the server had ended (expired) by their next connect: their later deliveries are lost. */
  sessionsLost: number
  withinBounds: boolean
  redis?: RedisStep
}

/** Commands named per step in the reports: enough to see what a publish costs Redis. */
const TOP_COMMANDS = 5

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function runStep (server: ServerGroup, generator: LoadGenerator, load: Workload, target: number, options: SteppedOptions, redis: RedisProbe | undefined): Promise<StepResult> {
  const publishesPerSecond = target / meanFanOut(load)
  const baseline = await generator.observe(true)
  const redisBefore = await redis?.sample()
  const serverBefore = server.sample()
  const start = performance.now()
  const published = await generator.publish(publishesPerSecond, options.stepMs, load.channels, options.payloadBytes)
  const publishes = Object.values(published).reduce((sum, count) => sum + count, 0)
  const expected = Object.entries(published).reduce((sum, [channel, count]) => sum + count * load.subscribersOf.get(channel)!, 0)
  const hardDeadline = performance.now() + options.maxDrainMs
  let deadline = performance.now() + options.drainMs
  let seen = await generator.observe(false)
  let lastDelivery = seen.counts.unique > 0 ? performance.now() : start
  while (seen.counts.unique < expected && performance.now() < Math.min(deadline, hardDeadline)) {
    await sleep(POLL_MS)
    const before = seen.counts.unique
    seen = await generator.observe(false)
    if (seen.counts.unique > before) {
      lastDelivery = performance.now()
      deadline = lastDelivery + options.drainMs
    }
  }
  const seconds = (performance.now() - start) / 1000
  const serverAfter = server.sample()
  const redisAfter = await redis?.sample()
  const delivered = seen.counts.unique
  const lost = Math.max(0, expected - delivered)
  const errors = seen.problems.failedReplies + seen.problems.transportErrors
  const p99Ms = seen.latency.percentile(0.99) / 1000
  const serverCpuMicros = serverAfter.cpuMicros - serverBefore.cpuMicros
  let redisStep: RedisStep | undefined
  if (redisBefore !== undefined && redisAfter !== undefined) {
    const commands = redisAfter.commands - redisBefore.commands
    const cpuMicros = redisAfter.cpuMicros === undefined || redisBefore.cpuMicros === undefined ? undefined : redisAfter.cpuMicros - redisBefore.cpuMicros
    const perPublish = [...redisAfter.byCommand]
      .map(([name, calls]): [string, number] => [name, (calls - (redisBefore.byCommand.get(name) ?? 0)) / Math.max(1, publishes)])
      .filter(([name, calls]) => name !== 'info' && calls > 0)
      .sort((a, b) => b[1] - a[1])
    redisStep = {
      commands,
      topCommands: perPublish.slice(0, TOP_COMMANDS),
      commandsPerPublish: publishes > 0 ? commands / publishes : Number.NaN,
      cpuPercent: cpuMicros === undefined ? undefined : cpuMicros / seconds / 1e4,
      cpuMicrosPerDelivery: cpuMicros === undefined || delivered === 0 ? undefined : cpuMicros / delivered
    }
  }
  return {
    offeredPerSecond: target,
    publishesPerSecond,
    published: publishes,
    seconds,
    lastDeliverySeconds: (lastDelivery - start) / 1000,
    expected,
    delivered,
    deliveredPerSecond: delivered / seconds,
    lost,
    duplicates: seen.counts.duplicates,
    outOfOrder: seen.counts.outOfOrder,
    p50Ms: seen.latency.percentile(0.5) / 1000,
    p99Ms,
    maxMs: seen.latency.max / 1000,
    serverCpuMicrosPerDelivery: delivered > 0 ? serverCpuMicros / delivered : Number.NaN,
    serverCpuPercent: serverCpuMicros / seconds / 1e4,
    serverRssMiB: serverAfter.rssBytes / 2 ** 20,
    generatorCpuPercent: (seen.generatorCpuMicros - baseline.generatorCpuMicros) / seconds / 1e4,
    errors,
    lastError: seen.problems.lastError,
    sessionsLost: seen.problems.sessionsLost,
    withinBounds: p99Ms <= LATENCY_BOUND_MS && lost === 0 && errors === 0 && seen.counts.duplicates === 0 && seen.counts.outOfOrder === 0,
    ...(redisStep === undefined ? {} : { redis: redisStep })
  }
}

function givesUp (step: StepResult): boolean {
  return (
    step.lost > 0 ||
    step.errors > 0 ||
    step.duplicates > 0 ||
    step.outOfOrder > 0 ||
    step.p99Ms > GIVE_UP_P99_MS ||
    step.deliveredPerSecond < GIVE_UP_DELIVERED_SHARE * step.offeredPerSecond
  )
}

/**
 * Steps the offered load up. A step within every bound (p99 ≤ 50 ms, nothing lost, duplicated
 * or reordered) counts towards capacity; stepping continues past a latency break, because on a
 * shared machine one burst of foreign work can cause it, until the server loses messages,
 * falls behind the offered rate, or p99 passes a second.
 */
export async function runSteps (
  server: ServerGroup,
  generator: LoadGenerator,
  load: Workload,
  options: SteppedOptions,
  log: (line: string) => void,
  redis?: RedisProbe
): Promise<StepResult[]> {
  if (options.targets.length > 0 && options.warmUpMs > 0) {
    await runStep(server, generator, load, options.targets[0]!, { ...options, stepMs: options.warmUpMs }, redis)
  }
  const steps: StepResult[] = []
  for (const target of options.targets) {
    const step = await runStep(server, generator, load, target, options, redis)
    steps.push(step)
    log(
      `  offered ${target}/s → ${Math.round(step.deliveredPerSecond)}/s p50 ${step.p50Ms.toFixed(1)} p99 ${step.p99Ms.toFixed(1)} max ${step.maxMs.toFixed(1)} ms, ` +
        `lost ${step.lost}${step.sessionsLost > 0 ? ` (${step.sessionsLost} sessions expired)` : ''}, last at ${step.lastDeliverySeconds.toFixed(1)} s, server ${step.serverCpuPercent.toFixed(0)}% CPU, generator ${step.generatorCpuPercent.toFixed(0)}%` +
        (step.redis === undefined ? '' : `, Redis ${step.redis.cpuPercent?.toFixed(0) ?? '?'}% CPU, ${step.redis.commandsPerPublish.toFixed(1)} commands/publish`) +
        (step.errors > 0 ? `, ${step.errors} errors (${step.lastError})` : '')
    )
    if (givesUp(step)) break
  }
  return steps
}
