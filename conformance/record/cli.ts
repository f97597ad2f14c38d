// Records reference traces: `tsx conformance/record/cli.ts --server cometd-nodejs-server --transport long-polling [--scenario name]`.
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { SCENARIOS } from '../scenarios/index.ts'
import { LAUNCHERS } from '../servers/index.ts'
import { TRANSPORTS, type Transport } from '../trace.ts'
import { recordScenario } from './record.ts'
import { driverFor } from './drivers.ts'

const TRACES = join(dirname(new URL(import.meta.url).pathname), '..', 'traces')

const { values } = parseArgs({
  options: { server: { type: 'string' }, transport: { type: 'string' }, scenario: { type: 'string', multiple: true } }
})
const launch = LAUNCHERS[values.server ?? '']
const transport = values.transport as Transport
if (launch === undefined || !TRANSPORTS.includes(transport)) {
  console.error(`usage: record --server ${Object.keys(LAUNCHERS).join('|')} --transport ${TRANSPORTS.join('|')} [--scenario name]...`)
  process.exit(2)
}
const driver = await driverFor(transport)
const chosen = SCENARIOS.filter(s => (s.transports ?? TRANSPORTS).includes(transport) && (values.scenario === undefined || values.scenario.includes(s.name)))
let failures = 0
for (const scenario of chosen) {
  try {
    const trace = await recordScenario(scenario, transport, launch, driver)
    const file = join(TRACES, transport, `${scenario.name}.json`)
    await mkdir(dirname(file), { recursive: true })
    await writeFile(file, JSON.stringify(trace, null, 1) + '\n')
    const notes = trace.meta.deviations.length > 0 ? ` (${trace.meta.deviations.length} deviation(s) corrected)` : ''
    console.log(`recorded ${transport}/${scenario.name}: ${trace.steps.length} steps${notes}`)
  } catch (error) {
    failures++
    console.log(`FAILED ${transport}/${scenario.name}: ${(error as Error).message}`)
  }
}
await driver.close()
process.exit(failures === 0 ? 0 : 1)
