// bench/replay.ts at toy size: every session gets every retained event, in order (never how fast).
import t from 'tap'
import { measureReplay } from '../../bench/replay.ts'
import { SERVERS } from '../../bench/servers/catalog.ts'

// Tap's hooks (NODE_OPTIONS) are for test processes; the server starts faster without them.
delete process.env['NODE_OPTIONS']

const unavailable = SERVERS['ours-history'].unavailable()
if (unavailable !== undefined) {
  t.plan(0, `${SERVERS['ours-history'].label}: ${unavailable}`)
} else {
  for (const transport of ['ws', 'lp'] as const) {
    t.test(`replay of 30 events to 10 sessions subscribing at once, over ${transport}`, async t => {
      const figures = await measureReplay(transport, 30, 10, undefined)
      t.equal(figures.incomplete, 0, 'every session got every event, ids increasing')
      t.same(figures.problems, { failedReplies: 0, transportErrors: 0, lastError: '', sessionsLost: 0 })
      t.ok([figures.p50Ms, figures.p99Ms, figures.lastMs, figures.serverCpuMs].every(x => Number.isFinite(x) && x >= 0), 'time and CPU figures')
    })
  }
}
