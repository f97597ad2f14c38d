/**
 * bin/bayeux-server's observability settings, as a child process: --metrics,
 * --metrics-port (and their environment variables), --log-format, the debug lines
 * of a session's life, and the exit codes of bad or failing metrics settings.
 * bin/ runs the compiled dist/: run `npm run build` first when running this file alone.
 */
import { createServer as createNetServer } from 'node:net'
import type { Server } from 'node:net'
import t from 'tap'
import { request } from 'undici'
import { HttpPeer } from '../../helpers.ts'
import { readOptions } from '../../support/cli-options.ts'
import { serveCli } from '../../support/cli-process.ts'
import { Scrape } from '../../support/prometheus-text.ts'

// Each test runs CLI processes of its own, on ports of their own: all at once, so that the
// file waits on no one Node start-up after another.
t.jobs = 6

const METRICS = /^bayeux-server: metrics at (\S+)$/m

async function status (url: string): Promise<number> {
  const answer = await request(url)
  await answer.body.dump()
  return answer.statusCode
}

t.test('--metrics-port: the metrics URL is printed, and /metrics and the probes are served there only', async t => {
  const server = serveCli(t, ['--metrics-port', '0'])
  const url = await server.url
  const metricsUrl = await server.line(METRICS)
  const main = new URL(url).origin
  const metrics = new URL(metricsUrl).origin
  t.not(metrics, main)
  await new HttpPeer(url).connected()
  const scrape = new Scrape(await (await request(metricsUrl)).body.text())
  t.equal(scrape.value('bayeux_sessions', { transport: 'long-polling' }), 1)
  t.equal(scrape.value('bayeux_messages_received_total', { transport: 'long-polling', type: 'handshake' }), 1)
  t.equal(await status(`${metrics}/health/ready`), 200)
  t.equal(await status(`${main}/metrics`), 404)
  t.equal(await status(`${main}/health/live`), 404)
  server.child.kill('SIGTERM')
  t.same(await server.exited, { code: 0, signal: null }, 'a shutdown exits 0')
})

t.test('BAYEUX_METRICS=true serves /metrics on the main port, next to the probes', async t => {
  const server = serveCli(t, [], { env: { BAYEUX_METRICS: 'true' } })
  const url = await server.url
  const metricsUrl = await server.line(METRICS)
  t.equal(new URL(metricsUrl).origin, new URL(url).origin)
  t.equal(await status(metricsUrl), 200)
  t.equal(await status(`${new URL(url).origin}/health/live`), 200)
  t.notMatch(server.stdout(), /error/i)
})

t.test('without metrics: no metrics line, no /metrics; the probes are on the main port', async t => {
  const server = serveCli(t, [])
  const origin = new URL(await server.url).origin
  t.equal(await status(`${origin}/metrics`), 404)
  t.equal(await status(`${origin}/health/ready`), 200)
  t.notMatch(server.stdout(), METRICS)
})

t.test('bad metrics settings exit 2 before anything listens; a taken metrics port exits 1', async t => {
  t.throws(() => readOptions(['--metrics-port', '8080'], {}), { message: '--metrics-port: must differ from --port' }, 'the default port counts')
  t.same(readOptions(['--metrics-port', '0'], {}), { metricsPort: 0 }, 'port 0 picks a free one, whatever --port is')
  t.same(readOptions(['--metrics-port', '9464'], { BAYEUX_PORT: '80' }), { metricsPort: 9464, port: 80 })
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [['--port', '9999', '--metrics-port', '9999'], {}, /--metrics-port: must differ from --port/],
    [['--metrics-port', 'x'], {}, /--metrics-port: not a whole number: "x"/],
    [[], { BAYEUX_METRICS_PORT: '70000' }, /--metrics-port: must be <= 65535/],
    [['--metrics=yes'], {}, /--metrics: not true or false: "yes"/],
    [['--log-format', 'xml'], {}, /--log-format: not one of auto, pretty, json: "xml"/]
  ]
  // Each is a usage error, which the CLI prints before anything listens and exits 2: here for
  // one given by flags and one given by a variable.
  for (const [args, env, message] of cases) {
    t.throws(() => readOptions(args, env), { message, showUsage: true }, `${JSON.stringify(args)} ${JSON.stringify(env)}`)
  }
  const run = [cases[0]!, cases[2]!]
  const runs = run.map(([args, env]) => serveCli(t, args.includes('--port') ? args : ['--port', '8080', ...args], { env }))
  for (const [i, [args, env, message]] of run.entries()) {
    const bad = runs[i]!
    t.same(await bad.exited, { code: 2, signal: null }, `${JSON.stringify(args)} ${JSON.stringify(env)} exits 2`)
    t.match(bad.stderr(), message)
    t.equal(bad.stdout(), '', 'nothing served')
  }

  const holder: Server = createNetServer()
  await new Promise<void>(resolve => holder.listen(0, '127.0.0.1', resolve))
  t.teardown(() => holder.close())
  const taken = (holder.address() as { port: number }).port
  const failed = serveCli(t, ['--metrics-port', String(taken), '--log-level', 'silent'])
  t.same(await failed.exited, { code: 1, signal: null }, 'a start-up failure exits 1')
  t.match(failed.stderr(), /EADDRINUSE/)
})

t.test('--log-format: JSON lines when not on a terminal, pretty lines when asked', async t => {
  const json = serveCli(t, ['--log-level', 'info'])
  const pretty = serveCli(t, ['--log-level', 'info', '--log-format', 'pretty'])
  await json.url
  const listening = await json.line(/^(\{.*"Server listening at .*)$/m)
  t.match(JSON.parse(listening), { level: 30, msg: /^Server listening at http:\/\/127\.0\.0\.1:\d+$/ }, 'piped stdout: JSON by default')

  const line = await pretty.line(/^(.*Server listening at .*)$/m)
  t.throws(() => JSON.parse(line), 'not JSON')
  t.match(line, /INFO.*: Server listening at http:\/\/127\.0\.0\.1:\d+/, 'the level and the message, for people')
})

t.test('--log-level debug: a session\'s life is followed by its clientId', async t => {
  const server = serveCli(t, ['--log-level', 'debug', '--log-format', 'json'])
  const peer = new HttpPeer(await server.url)
  await peer.connected()
  await peer.send({ channel: '/meta/disconnect' })
  const clientId = peer.clientId!
  const lines = await server.line(new RegExp(`^(\\{.*"clientId":"${clientId}".*"msg":"session ended"\\})$`, 'm'))
  t.match(JSON.parse(lines), { level: 20, clientId, reason: 'client' })
  const life = server.stdout().split('\n').filter(text => text.includes(clientId)).map(text => JSON.parse(text).msg)
  t.same(life, ['session created', 'session connects over a new transport', 'session ended'])
})
