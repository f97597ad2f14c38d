import t from 'tap'
import { smokeTest } from '../../bench/orchestration/smoke.ts'

// Faye is the reference every bench table is compared with, the raw servers the limit of each
// transport; ours has spec/e2e/bench-ours.test.ts.
for (const name of ['faye', 'raw-ws', 'raw-http'] as const) {
  await t.test(name, (t) => smokeTest(t, name))
}
