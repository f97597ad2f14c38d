import type { CoreLayout } from '../os/cpu-pinning.ts'
import { LoadGenerator } from '../loadgen/generator.ts'
import type { Case, Plan } from './plan.ts'
import type { RunRecord } from './report.ts'
import { runC10k } from '../scenarios/c10k.ts'
import { runSteps } from '../scenarios/stepped.ts'
import { broadcast, chatRooms, meanFanOut } from '../scenarios/workloads.ts'
import type { ServerDefinition } from '../servers/catalog.ts'
import { ServerProcess } from '../servers/server-process.ts'

export type MeasurePlan = Pick<Plan, 'stepped' | 'idleMs' | 'timeoutMs'>

function skipReason (definition: ServerDefinition, testCase: Case): string | undefined {
  if (!definition.transports.includes(testCase.transport)) {
    return testCase.transport === 'ws' ? 'no WebSocket transport (long-polling only)' : 'WebSocket only'
  }
  return definition.unavailable()
}

async function measure (plan: MeasurePlan, testCase: Case, definition: ServerDefinition, cores: CoreLayout | undefined, log: (line: string) => void): Promise<Partial<RunRecord>> {
  const server = await ServerProcess.start(definition, plan.timeoutMs, cores?.server)
  const generator = new LoadGenerator(server.url, testCase.transport, testCase.size, cores?.generator)
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
    // At least one publish per second, so that every step sends something.
    const targets = plan.stepped.targets.filter((target) => target >= meanFanOut(load))
    const opening = await generator.open(load.sessions, Math.max(...targets) / meanFanOut(load))
    if (opening.failed > 0) throw new Error(`${opening.failed} sessions failed to open: ${opening.lastError}`)
    return { steps: await runSteps(server, generator, load, { ...plan.stepped, targets }, log) }
  } finally {
    await generator.stop()
    await server.stop()
  }
}

/** Runs one case against one server in its own process; never throws, failures are recorded. */
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
  log(`${testCase.scenario} n=${testCase.size} over ${testCase.transport}: ${definition.label}`)
  try {
    return { ...base, ...(await measure(plan, testCase, definition, cores, log)) }
  } catch (error) {
    log(`  failed: ${(error as Error).message}`)
    return { ...base, failed: (error as Error).message }
  }
}
