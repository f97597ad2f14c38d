/**
 * The long fuzz run, outside the test suite:
 *   node --import=tsx spec/e2e/fuzz/long-run.ts --runs 200000 --seed 42 [--concurrency 16] [--parallel] [--shrink]
 *     [--server '{"queueOverflow":"drop-oldest","maxQueue":50}']
 * Exits 1 with the failing input on the first failure.
 */
import { parseArgs } from 'node:util'
import { runCampaign } from './campaign.ts'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '200000' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    concurrency: { type: 'string', default: '16' },
    shrink: { type: 'boolean', default: false },
    parallel: { type: 'boolean', default: false },
    server: { type: 'string', default: '{}' }
  }
})

const teardowns: Array<() => unknown> = []
const seed = Number(values.seed)
console.log(`fuzzing with seed ${seed}, ${values.runs} payloads`)
try {
  const result = await runCampaign({ teardown: fn => teardowns.push(fn) }, {
    seed,
    runs: Number(values.runs),
    concurrency: Number(values.concurrency),
    shrink: values.shrink,
    parallel: values.parallel,
    server: JSON.parse(values.server),
    progress: line => console.log(line)
  })
  console.log(JSON.stringify(result))
} catch (error) {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
} finally {
  for (const teardown of teardowns.reverse()) await teardown()
}
