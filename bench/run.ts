// npm run bench -- [--scenario reference,fanout,c10k] [--transport ws,lp] [--size N]
//                  [--server ours,faye,cometd,raw-ws,raw-http] [--quick] [--out file]
import { writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { coreLayout, pin } from './os/cpu-pinning.ts'
import { measureCase } from './orchestration/measure.ts'
import { parsePlan } from './orchestration/plan.ts'
import { renderReport, type RunRecord } from './orchestration/report.ts'
import { SERVERS } from './servers/catalog.ts'

const log = (line: string): void => console.log(line)

const plan = parsePlan(process.argv.slice(2))
const cores = coreLayout()
pin(process.pid, cores?.generator)
const started = new Date()
const loadAtStart = loadavg()
const records: RunRecord[] = []
for (const testCase of plan.cases) {
  for (const name of plan.servers) records.push(await measureCase(plan, testCase, SERVERS[name], cores, log))
}
writeFileSync(plan.out, renderReport({ plan, records, started, finished: new Date(), cores, argv: process.argv.slice(2), loadAtStart }))
log(`wrote ${plan.out}`)
