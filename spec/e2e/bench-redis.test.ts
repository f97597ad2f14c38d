import t from 'tap'
import { redisSmokeTest } from '../../bench/orchestration/smoke.ts'

// The multi-node benchmark (npm run bench -- --nodes 2): two nodes sharing a Redis, skipped
// when no Redis answers at BENCH_REDIS_URL (default redis://127.0.0.1:6379) or, for ours, until
// dist/ is built.
for (const name of ['faye-redis', 'ours-redis'] as const) {
  await t.test(name, (t) => redisSmokeTest(t, name))
}
