// npm run bench -- [--scenario reference,fanout,c10k] [--transport ws,lp] [--size N]
//                  [--server ours,faye,cometd,raw-ws] [--quick] [--out file]
import { writeFileSync } from 'node:fs';
import { coreLayout, pin } from './cpu-pinning.ts';
import { LoadGenerator } from './loadgen/generator.ts';
import { parsePlan, type Case, type Plan } from './plan.ts';
import { renderReport, type RunRecord } from './report.ts';
import { runC10k } from './scenarios/c10k.ts';
import { runSteps } from './scenarios/stepped.ts';
import { broadcast, chatRooms, meanFanOut } from './scenarios/workloads.ts';
import { SERVERS, type ServerDefinition } from './servers/catalog.ts';
import { ServerProcess } from './servers/server-process.ts';

const log = (line: string): void => console.log(line);

async function measure(plan: Plan, testCase: Case, definition: ServerDefinition, cores: ReturnType<typeof coreLayout>): Promise<Partial<RunRecord>> {
  const server = await ServerProcess.start(definition, plan.timeoutMs, cores?.server);
  const generator = new LoadGenerator(server.url, testCase.transport, testCase.size, cores?.generator);
  try {
    if (testCase.scenario === 'c10k') {
      const c10k = await runC10k(server, generator, testCase.size, plan.idleMs);
      log(
        `  ${c10k.opened}/${c10k.sessions} sessions in ${c10k.connectSeconds.toFixed(1)} s, ${c10k.rssPerSessionKiB.toFixed(1)} KiB each, ` +
          `idle ${c10k.idleCpuPercent.toFixed(1)}% CPU, broadcast reached ${c10k.broadcastDelivered} in ${c10k.broadcastMs.toFixed(0)} ms`,
      );
      return { c10k };
    }
    const load = testCase.scenario === 'reference' ? chatRooms(testCase.size) : broadcast(testCase.size);
    const opening = await generator.open(load.sessions);
    if (opening.failed > 0) throw new Error(`${opening.failed} sessions failed to open: ${opening.lastError}`);
    // At least one publish per second, so that every step sends something.
    const targets = plan.stepped.targets.filter((target) => target >= meanFanOut(load));
    return { steps: await runSteps(server, generator, load, { ...plan.stepped, targets }, log) };
  } finally {
    await generator.stop();
    await server.stop();
  }
}

function skipReason(definition: ServerDefinition, testCase: Case): string | undefined {
  if (!definition.transports.includes(testCase.transport)) {
    return testCase.transport === 'ws' ? 'no WebSocket transport (long-polling only)' : 'WebSocket only';
  }
  return definition.unavailable();
}

async function main(): Promise<void> {
  const plan = parsePlan(process.argv.slice(2));
  const cores = coreLayout();
  pin(process.pid, cores?.generator);
  const started = new Date();
  const records: RunRecord[] = [];
  for (const testCase of plan.cases) {
    for (const name of plan.servers) {
      const definition = SERVERS[name];
      const base = { ...testCase, server: name };
      const skipped = skipReason(definition, testCase);
      if (skipped !== undefined) {
        records.push({ ...base, skipped });
        continue;
      }
      log(`${testCase.scenario} n=${testCase.size} over ${testCase.transport}: ${definition.label}`);
      try {
        records.push({ ...base, ...(await measure(plan, testCase, definition, cores)) });
      } catch (error) {
        log(`  failed: ${(error as Error).message}`);
        records.push({ ...base, failed: (error as Error).message });
      }
    }
  }
  writeFileSync(plan.out, renderReport({ plan, records, started, finished: new Date(), cores, argv: process.argv.slice(2) }));
  log(`wrote ${plan.out}`);
}

await main();
