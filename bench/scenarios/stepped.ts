import type { LoadGenerator, Observation } from '../loadgen/generator.ts';
import type { ServerProcess } from '../servers/server-process.ts';
import { meanFanOut, type Workload } from './workloads.ts';

export const LATENCY_BOUND_MS = 50;
const POLL_MS = 20;

export interface SteppedOptions {
  /** Offered deliveries per second, one step each, in increasing order. */
  targets: number[];
  stepMs: number;
  /** How long to wait after the last publish for stragglers before counting the rest as lost. */
  drainMs: number;
  payloadBytes: number;
  /** A discarded first step at the lowest load: JIT, pools and caches warm up before measuring. */
  warmUpMs: number;
}

export interface StepResult {
  offeredPerSecond: number;
  publishesPerSecond: number;
  expected: number;
  delivered: number;
  deliveredPerSecond: number;
  lost: number;
  duplicates: number;
  outOfOrder: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  serverCpuMicrosPerDelivery: number;
  serverCpuPercent: number;
  serverRssMiB: number;
  generatorCpuPercent: number;
  errors: number;
  lastError: string;
  withinBounds: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function runStep(server: ServerProcess, generator: LoadGenerator, load: Workload, target: number, options: SteppedOptions): Promise<StepResult> {
  const publishesPerSecond = target / meanFanOut(load);
  const baseline = await generator.observe(true);
  const serverBefore = server.sample();
  const start = performance.now();
  const published = await generator.publish(publishesPerSecond, options.stepMs, load.channels, options.payloadBytes);
  const expected = Object.entries(published).reduce((sum, [channel, count]) => sum + count * load.subscribersOf.get(channel)!, 0);
  const deadline = performance.now() + options.drainMs;
  let seen: Observation;
  do {
    await sleep(POLL_MS);
    seen = await generator.observe(false);
  } while (seen.counts.unique < expected && performance.now() < deadline);
  const seconds = (performance.now() - start) / 1000;
  const serverAfter = server.sample();
  const delivered = seen.counts.unique;
  const lost = Math.max(0, expected - delivered);
  const errors = seen.problems.failedReplies + seen.problems.transportErrors;
  const p99Ms = seen.latency.percentile(0.99) / 1000;
  const serverCpuMicros = serverAfter.cpuMicros - serverBefore.cpuMicros;
  return {
    offeredPerSecond: target,
    publishesPerSecond,
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
    withinBounds: p99Ms <= LATENCY_BOUND_MS && lost === 0 && errors === 0 && seen.counts.duplicates === 0 && seen.counts.outOfOrder === 0,
  };
}

/** Steps the offered load up until latency or loss bounds are broken twice in a row; that last step is kept too. */
export async function runSteps(
  server: ServerProcess,
  generator: LoadGenerator,
  load: Workload,
  options: SteppedOptions,
  log: (line: string) => void,
): Promise<StepResult[]> {
  if (options.targets.length > 0 && options.warmUpMs > 0) {
    await runStep(server, generator, load, options.targets[0]!, { ...options, stepMs: options.warmUpMs });
  }
  const steps: StepResult[] = [];
  for (const target of options.targets) {
    let step = await runStep(server, generator, load, target, options);
    // On a shared machine one burst of foreign work can break a bound: a broken step gets one more try.
    if (!step.withinBounds) step = await runStep(server, generator, load, target, options);
    steps.push(step);
    log(
      `  offered ${target}/s → ${Math.round(step.deliveredPerSecond)}/s p50 ${step.p50Ms.toFixed(1)} p99 ${step.p99Ms.toFixed(1)} max ${step.maxMs.toFixed(1)} ms, ` +
        `lost ${step.lost}, server ${step.serverCpuPercent.toFixed(0)}% CPU, generator ${step.generatorCpuPercent.toFixed(0)}%` +
        (step.errors > 0 ? `, ${step.errors} errors (${step.lastError})` : ''),
    );
    if (!step.withinBounds) break;
  }
  return steps;
}
