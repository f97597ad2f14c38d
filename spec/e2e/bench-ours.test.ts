import t from 'tap'
import { smokeTest } from '../../bench/orchestration/smoke.ts'

// Runs the compiled server (bin/bayeux-server, dist/); skipped until both exist.
await smokeTest(t, 'ours')
