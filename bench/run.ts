// npm run bench -- [--scenario reference,fanout,c10k] [--transport ws,lp] [--size N]
//                  [--server ours,faye,cometd,raw-ws,raw-http] [--quick] [--out file]
// npm run bench -- --nodes 1,2,3 [--redis redis://127.0.0.1:6379]   (servers sharing a Redis)
import { writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { coreLayout, pin } from './os/cpu-pinning.ts'
import { measureCase } from './orchestration/measure.ts'
import { parsePlan } from './orchestration/plan.ts'
import { renderReport, type RunRecord } from './orchestration/report.ts'
import { compileCheckouts, SERVERS } from './servers/catalog.ts'
import { RedisProbe } from './servers/redis-probe.ts'

const log = (line: string): void => console.log(line)

const plan = parsePlan(process.argv.slice(2))
compileCheckouts(plan.servers)
const cores = coreLayout()
pin(process.pid, cores?.generator)
const started = new Date()
const loadAtStart = loadavg()
// Which Redis the multi-node servers share, for the report (each case connects on its own).
let redis: { url: string, version: string, pid: number | undefined } | undefined
if (plan.servers.some((name) => SERVERS[name].redis)) {
  const probe = await RedisProbe.connect(plan.redisUrl)
  redis = { url: probe.url, version: probe.version, pid: probe.pid }
  await probe.close()
}
const records: RunRecord[] = []
for (const testCase of plan.cases) {
  for (const name of plan.servers) records.push(await measureCase(plan, testCase, SERVERS[name], cores, log))
}
writeFileSync(plan.out, renderReport({ plan, records, started, finished: new Date(), cores, argv: process.argv.slice(2), loadAtStart, redis }))
log(`wrote ${plan.out}`)
