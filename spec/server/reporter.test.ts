/**
 * lib/server/reporter.ts: what the core logs of its engine's troubles. An outage, and
 * the session destroys an engine keeps for a retry, are logged once per change, never
 * per operation.
 */
import t from 'tap'
import { EventEmitter } from 'node:events'
import type { EngineHost } from '../../lib/engines/engine.ts'
import { MemoryEngine } from '../../lib/engines/memory.ts'
import { BayeuxServerError } from '../../lib/errors.ts'
import { Reporter } from '../../lib/server/reporter.ts'
import { CoreHarness, MemoryLog } from '../support/core-harness.ts'

function reporter (): { reporter: Reporter, log: MemoryLog } {
  const log = new MemoryLog()
  const reporter = new Reporter(new EventEmitter())
  reporter.log = log
  return { reporter, log }
}

t.test('a failed engine operation nobody waits for is logged, unless the engine reports it itself', async t => {
  const { reporter: r, log } = reporter()
  r.settle(Promise.reject(new BayeuxServerError('BAYEUX_ERR_ENGINE_UNAVAILABLE', 'Redis is away')), 'destroySession')
  r.settle(Promise.reject(new Error('a script error')), 'subscribe')
  await new Promise(resolve => setImmediate(resolve))
  t.same(log.lines.map(line => [line.level, line.message, (line.object as { operation?: string }).operation]), [['error', 'engine operation failed', 'subscribe']])
})

t.test('pending destroys: warn when the first is kept, info when none is left', async t => {
  const { reporter: r, log } = reporter()
  r.destroysPending(true)
  r.destroysPending(false)
  t.same(log.lines.map(line => line.level), ['warn', 'info'])
  t.match(log.lines[0]!.message, /not removed from it yet \(retried at each heartbeat\)/)
})

t.test('the core passes its engine\'s reports on to the reporter', async t => {
  let host: EngineHost | undefined
  class Reporting extends MemoryEngine {
    override start (h: EngineHost): void {
      host = h
      super.start(h)
    }
  }
  const h = await CoreHarness.start(t, { engine: new Reporting() })
  host!.destroysPending(true)
  host!.statusChanged(false, new Error('connection refused'))
  host!.statusChanged(true)
  host!.destroysPending(false)
  t.same(h.log.lines.filter(line => line.level !== 'debug').map(line => line.level), ['warn', 'warn', 'info', 'info'])
})
