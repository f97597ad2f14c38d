/**
 * The public API is what docs/api-report.md accepted: a member that becomes public
 * (or disappears) fails here until the report is regenerated on purpose.
 */
import t from 'tap'
import { acceptedReport, apiReport, unexportedReferences } from './support/api-report.ts'

t.test('the emitted declarations of every export match the accepted API report', async t => {
  t.equal(apiReport(), acceptedReport(), 'run `node --import=tsx spec/support/api-report.ts --write` to accept a deliberate change')
})

/** Type-level helpers: what users see of them is the expanded result (Options), never the name. */
const TYPE_HELPERS = new Set(['ValuesOf'])

t.test('the public declarations name no type of lib/ that users cannot import', async t => {
  t.same(unexportedReferences().filter(name => !TYPE_HELPERS.has(name)), [])
})

t.test('the façade and the session show nothing of the machinery', async t => {
  const report = acceptedReport()
  for (const internal of ['holds', 'expiries', 'settings', 'scheduleFlush', 'acquireBrowserHold', 'releaseBrowserHold', 'remove(', 'badInput', 'bind(', 'connect(', 'flush(', 'enqueue(', 'end(', 'open(']) {
    t.notOk(report.includes(` ${internal}`), `${internal} is not public`)
  }
})
