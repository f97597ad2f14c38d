// The conformance suite run against this project's server, and against deliberately broken
// variants of it (a tampering proxy in front) to show that it catches and explains mistakes.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { formatResult, loadTraces, replayAll, summary } from '../../conformance/replay/runner.ts'
import type { TraceResult } from '../../conformance/replay/replayer.ts'
import { isPublishAck, startTamperingProxy, type Tamper } from '../../conformance/selftest/tampering-proxy.ts'
import { launchBayeuxServer, launchBayeuxServerWithoutHistory } from '../../conformance/servers/bayeux-server.ts'
import { OPTIONS } from '../../conformance/servers/profile.ts'

const server = await launchBayeuxServer(OPTIONS)
t.teardown(() => server.close())

const CONCURRENCY = 16
const PUBLISHING = ['publish-to-self']

function failuresOf (results: TraceResult[]): string {
  return results.filter(r => r.failures.length > 0).map(formatResult).join('\n')
}

async function replayThroughTampering (tamper: Tamper): Promise<TraceResult[]> {
  const proxy = await startTamperingProxy(server.url, tamper)
  try {
    return await replayAll(await loadTraces({ traces: PUBLISHING }), proxy.url, CONCURRENCY, () => {})
  } finally {
    await proxy.close()
  }
}

t.test('every recorded trace passes against this server', async t => {
  const traces = await loadTraces()
  t.ok(traces.length >= 80, `${traces.length} traces found`)
  const results = await replayAll(traces, server.url, CONCURRENCY, () => {}, { hasRead: server.hasRead })
  t.equal(failuresOf(results), '', summary(results))
})

t.test('with history off, the replay traces fail citing the replay extension, and the others pass', async t => {
  const withoutHistory = await launchBayeuxServerWithoutHistory(OPTIONS)
  t.teardown(() => withoutHistory.close())
  const traces = await loadTraces({ transport: 'long-polling' })
  const replayTraces = traces.filter(trace => trace.scenario.startsWith('replay-'))
  t.ok(replayTraces.length >= 4, `${replayTraces.length} replay traces`)
  const results = await replayAll([...replayTraces, ...traces.filter(trace => trace.scenario === 'publish-to-self')], withoutHistory.url, CONCURRENCY, () => {}, { hasRead: withoutHistory.hasRead })
  for (const result of results) {
    if (result.trace.includes('/replay-')) t.ok(result.failures.some(f => f.checklist === 'replay'), `${result.trace} fails, citing [replay]`)
    else t.same(result.failures, [], `${result.trace} passes`)
  }
  t.match(failuresOf(results), /ext\.replay:true missing from the handshake reply \(no replay extension\) \[replay\]/)
})

t.test('a server that drops the id from publish acks fails, citing C09', async t => {
  const results = await replayThroughTampering(messages => messages.map(m => {
    if (!isPublishAck(m)) return m
    const { id: _dropped, ...rest } = m
    return rest
  }))
  const report = failuresOf(results)
  t.ok(results.length > 0 && results.every(r => r.failures.length > 0), 'every trace fails')
  t.match(report, /step \d+ \(client A, .*\): no reply to \/publish-to-self-\w+\/chat id \d+.*\[C09\]/)
  t.match(report, /expected: \{"id":"\d+","channel":"\/publish-to-self-\w+\/chat","successful":true\}/)
})

t.test('a server that puts data in publish acks fails, citing C54', async t => {
  const results = await replayThroughTampering(messages => messages.map(m => isPublishAck(m) ? { ...m, data: { leaked: true } } : m))
  const report = failuresOf(results)
  t.ok(results.length > 0 && results.every(r => r.failures.length > 0), 'every trace fails')
  t.match(report, /reply carries data \[C54\]\n {4}expected: .*\n {4}actual: {3}\{"leaked":true\}/)
})

t.test('the CLI prints a line per trace and the summary, and sets the exit code', async t => {
  const cli = fileURLToPath(new URL('../../bin/bayeux-conformance', import.meta.url))
  const run = (url: string): Promise<{ code: number | null, output: string }> => new Promise(resolve => {
    // tap's loaders (NODE_OPTIONS) must not leak into the CLI, which loads tsx itself.
    const env = { ...process.env, NODE_OPTIONS: '' }
    const child = spawn(process.execPath, [cli, url, '--transport', 'long-polling', '--trace', 'publish-to-self', '--trace', 'remote-call-echo'], { env })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.on('close', code => resolve({ code, output }))
  })
  const proxy = await startTamperingProxy(server.url, messages => messages.map(m => isPublishAck(m) ? { ...m, data: 1 } : m))
  t.teardown(() => proxy.close())
  const [good, bad] = await Promise.all([run(server.url), run(proxy.url)])
  t.equal(good.code, 0)
  t.match(good.output, /^ok {3}long-polling\/publish-to-self \(\d+ ms\)$/m)
  t.match(good.output, /\n2 passed, 0 failed\n$/)

  t.equal(bad.code, 1)
  t.match(bad.output, /^FAIL long-polling\/publish-to-self/m)
  t.match(bad.output, /\n0 passed, 2 failed\n$/)
})
