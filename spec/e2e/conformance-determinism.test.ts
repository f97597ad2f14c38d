// The conformance replay must give the same verdict however late the server gets round to reading
// a request. Requests a client writes on two connections are not read by the server in the order
// they were written when it is busy; the replayer must wait until the server has read one before
// it sends the next (conformance/replay/server-reads.ts), or a disconnect overtakes the connect
// written before it on another connection and the connect is answered 402::session_unknown.
import net from 'node:net'
import t from 'tap'
import { formatResult, loadTraces, replayAll, summary } from '../../conformance/replay/runner.ts'
import type { TraceResult } from '../../conformance/replay/replayer.ts'
import { ServerReads, readOracle, serverHasRead, tcpTable } from '../../conformance/replay/server-reads.ts'
import { readFirstRequestsLate } from '../../conformance/selftest/late-reader.ts'
import { startBayeuxServer } from '../../conformance/servers/bayeux-server.ts'
import { OPTIONS } from '../../conformance/servers/profile.ts'
import type { Trace } from '../../conformance/trace.ts'

/**
 * How late the server reads each new connection's first request: far more than the few
 * milliseconds in which a replayer that does not wait would send the next request.
 */
const LATE_MS = 100

function failuresOf (results: TraceResult[]): string {
  return results.filter(r => r.failures.length > 0).map(formatResult).join('\n')
}

/**
 * Traces whose verdict cannot depend on time once each new connection costs LATE_MS more: recorded
 * in well under the server's hold timeout, with few connections. (In longer ones, a held connect
 * that the recording saw released by an event or a disconnect would time out first.)
 */
function quick (trace: Trace): boolean {
  const span = Math.max(...trace.steps.map(s => s.kind === 'http' ? s.completedAt : s.at)) - (trace.steps[0]?.at ?? 0)
  const connections = new Set(trace.steps.map(s => `${s.client}/${s.connection}`)).size
  return trace.meta.transport !== 'websocket' && span < 500 && connections <= 4
}

if (await tcpTable() === null) {
  t.pass('skipped: knowing what the server has read needs /proc/net/tcp (Linux)')
} else {
  t.test('a request the server has not read yet is seen as unread, then as read', async t => {
    const server = net.createServer({ pauseOnConnect: true })
    const accepted = new Promise<net.Socket>(resolve => server.once('connection', resolve))
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    t.teardown(() => server.close())
    const hasRead = readOracle(server)
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
    t.teardown(() => client.destroy())
    await new Promise(resolve => client.once('connect', resolve))
    const socket = await accepted
    const reads = new ServerReads()
    const oracleReads = new ServerReads(hasRead)
    client.write('POST /cometd HTTP/1.1\r\n')
    reads.wrote(client)
    oracleReads.wrote(client)
    t.notOk(serverHasRead(client, (await tcpTable())!), 'paused server: the bytes wait in its receive queue')
    t.equal(hasRead(client), false, 'the server in this process has not read them')
    t.notOk(await reads.settle(20), 'settle gives up after its limit')
    t.notOk(await oracleReads.settle(20), 'also when the server tells')
    socket.resume()
    t.ok(await reads.settle(5000), 'settles once the server reads')
    t.ok(await oracleReads.settle(5000), 'also when the server tells')
    t.equal(hasRead(client), true)
  })

  t.test('verdicts do not change when the server reads new connections late', async t => {
    const server = await startBayeuxServer(OPTIONS)
    const hasRead = readOracle(server.fastify.server)
    const stop = readFirstRequestsLate(server.fastify.server, LATE_MS)
    t.teardown(async () => {
      stop()
      await server.close()
    })
    const traces = (await loadTraces()).filter(quick)
    t.ok(traces.some(trace => trace.scenario === 'batch-subscribe-publish' && trace.meta.transport === 'long-polling'))
    t.ok(traces.length >= 40, `${traces.length} traces`)
    for (const [source, options] of [['/proc/net/tcp', {}], ['the server', { hasRead }]] as const) {
      const results = await replayAll(traces, server.url, 8, () => {}, options)
      t.equal(failuresOf(results), '', `what the server has read known from ${source}: ${summary(results)}`)
    }
  })
}
