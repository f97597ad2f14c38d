// bayeux-conformance <url> [--transport long-polling|callback-polling|websocket] [--trace name]... [--concurrency n]
import { parseArgs } from 'node:util'
import { TRANSPORTS, type Transport } from '../trace.ts'
import { formatResult, loadTraces, replayAll, summary } from './runner.ts'

const USAGE = `usage: bayeux-conformance <url> [--transport ${TRANSPORTS.join('|')}] [--trace name]... [--concurrency n]`

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    transport: { type: 'string' },
    trace: { type: 'string', multiple: true },
    concurrency: { type: 'string', default: '6' },
    help: { type: 'boolean', short: 'h' }
  }
})
const [url] = positionals
const transport = values.transport as Transport | undefined
const concurrency = Number(values.concurrency)
if (values.help === true || url === undefined || (transport !== undefined && !TRANSPORTS.includes(transport)) || !(concurrency >= 1)) {
  console.error(USAGE)
  process.exit(2)
}
const traces = await loadTraces({ ...(transport !== undefined && { transport }), ...(values.trace !== undefined && { traces: values.trace }) })
if (traces.length === 0) {
  console.error('no trace matches')
  process.exit(2)
}
const results = await replayAll(traces, url, concurrency, result => console.log(formatResult(result)))
console.log(summary(results))
process.exit(results.every(r => r.failures.length === 0) ? 0 : 1)
