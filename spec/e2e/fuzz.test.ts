/**
 * Fuzzing (issue 4): over 10,000 random and mutated Bayeux payloads at long-polling,
 * callback-polling and WebSocket. Every HTTP request is answered (200 with a JSON
 * array of replies and events, or a 4xx with a reason; never a 5xx or a hang), every
 * WebSocket frame gets a reply or a 1xxx close, no handler throws (no error log),
 * Object.prototype stays clean, and real CometD clients running alongside receive
 * every message, in order (C70). A longer run: spec/e2e/fuzz/long-run.ts.
 */
import t from 'tap'
import { runCampaign } from './fuzz/campaign.ts'

t.test('the server survives hostile traffic on every transport and keeps delivering (C01-C08, C70, C85, C94, C102)', async t => {
  const result = await runCampaign(t, { seed: 20_260_624, runs: 10_032 })
  const total = Object.values(result.sent).reduce((sum, count) => sum + count, 0)
  t.ok(total >= 10_000, `${total} payloads sent: ${JSON.stringify(result.sent)}`)
  t.ok(result.canaryMessages > 0, `the well-behaved clients exchanged ${result.canaryMessages} messages`)
  t.ok(result.warnings > 0, `bad input was logged at warn (${result.warnings} lines)`)
})
