// node --import=tsx bench/metrics-overhead.ts [--sessions 1000] [--rounds 100] [--blocks 5] [--runs 6] [--feature metrics|history]
//
// What --metrics adds to the core's work per delivery, in CPU time, without sockets:
// 1,000 sessions subscribed to one channel, over WebSocket-like push links (each
// broadcast pushed to every socket) and over long-polling-like request links (each
// delivery releases a held connect, and the client's next connect is processed and
// held again). Processes without and with the metrics of --metrics (BayeuxMetrics,
// process metrics included) alternate, so that the machine's other load weighs on both
// alike; each reports the median of its blocks, and the medians of those are compared.
// Transports, sockets and the kernel are left out: they cost the same either way, and
// in the full server they are most of the cost of a delivery.
// --feature history measures history instead (issue 11): the channel's events kept, each with
// its replay id (`history: ['/broadcast']`), against the same core without it.
import { spawnSync } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { parseArgs } from 'node:util'
import { BayeuxMetrics } from '../lib/observability/metrics.ts'
import type { OutgoingEvent } from '../lib/protocol/outgoing-event.ts'
import { ServerCore } from '../lib/server/core.ts'
import type { BayeuxEvents } from '../lib/server/events.ts'
import type { PushLink, RequestLink, Respond } from '../lib/server/link.ts'

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '100' },
    blocks: { type: 'string', default: '5' },
    runs: { type: 'string', default: '6' },
    feature: { type: 'string', default: 'metrics' },
    /** Internal: one measuring process. */
    child: { type: 'string' }
  }
})
const SESSIONS = Number(values.sessions)
const ROUNDS = Number(values.rounds)
const BLOCKS = Number(values.blocks)
const FEATURE = values.feature === 'history' ? 'history' : 'metrics'

const nextTick = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

abstract class BenchLink {
  readonly headers = {}
  readonly remoteAddress = '127.0.0.1'
  readonly closed = false
  browserId: string | undefined
  onClose (): void {}
  offClose (): void {}
}

class Socket extends BenchLink implements PushLink {
  readonly kind = 'push'
  readonly transport = 'websocket'
  readonly backlogged = false
  pushed = 0
  push (events: readonly OutgoingEvent[]): void { this.pushed += events.length }
  onDrain (): void {}
  end (): void {}
}

class Request extends BenchLink implements RequestLink {
  readonly kind = 'request'
  readonly transport = 'long-polling'
  constructor (browserId: string) {
    super()
    this.browserId = browserId
  }

  assignBrowserId (): string { return this.browserId! }
}

/** A core with SESSIONS subscribers to /broadcast; `round()` publishes once and waits for every delivery. */
async function setUp (transport: 'ws' | 'lp', history: boolean): Promise<{ core: ServerCore, round: () => Promise<void> }> {
  const core = new ServerCore({ timesync: false, maxSessions: SESSIONS + 1, maxSessionsPerBrowser: -1, publishRate: 0, timeout: 3_600_000, ...(history && { history: ['/broadcast'] }) }, new EventEmitter<BayeuxEvents>())
  await core.start()
  const ask = (link: Socket | Request, message: object): Promise<void> => new Promise(resolve => { void core.process([message], link, () => resolve()) })
  const delivered = { count: 0 }
  const held: Array<() => void> = []
  for (let i = 0; i < SESSIONS; i++) {
    const link = transport === 'ws' ? new Socket() : new Request(`browser${i}`)
    let clientId = ''
    await new Promise<void>(resolve => { void core.process([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['websocket', 'long-polling'] }], link, (_events, [reply]) => { clientId = reply!.clientId!; resolve() }) })
    await ask(link, { channel: '/meta/connect', clientId, connectionType: link.transport, advice: { timeout: 0 } })
    await ask(link, { channel: '/meta/subscribe', clientId, subscription: '/broadcast' })
    if (link instanceof Socket) {
      link.push = events => { delivered.count += events.length }
      continue
    }
    // The client's loop: each delivery answers its held connect, and it connects again.
    const connect = (): void => {
      const respond: Respond = events => {
        delivered.count += events.length
        held.push(connect)
      }
      void core.process([{ channel: '/meta/connect', clientId, connectionType: 'long-polling' }], link, respond)
    }
    connect()
  }
  const channel = core.channels.parse('/broadcast')!
  const round = async (): Promise<void> => {
    for (const reconnect of held.splice(0)) reconnect()
    const target = delivered.count + SESSIONS
    await core.publisher.broadcast({ channel: '/broadcast', data: 'x'.repeat(50) }, channel, undefined, undefined)
    while (delivered.count < target) await nextTick()
  }
  return { core, round }
}

/** CPU µs per delivery over ROUNDS rounds. */
async function block (round: () => Promise<void>): Promise<number> {
  const start = process.cpuUsage()
  for (let i = 0; i < ROUNDS; i++) await round()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / (ROUNDS * SESSIONS)
}

const median = (samples: number[]): number => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)]!

/** One process: the median CPU µs per delivery over `transport`, with or without FEATURE. */
async function measure (transport: 'ws' | 'lp', withFeature: boolean): Promise<number> {
  const { core, round } = await setUp(transport, withFeature && FEATURE === 'history')
  const metrics = withFeature && FEATURE === 'metrics' ? new BayeuxMetrics(core) : undefined
  for (let i = 0; i < 2; i++) await block(round) // warm-up: optimised code before anything counts
  const samples: number[] = []
  for (let i = 0; i < BLOCKS; i++) samples.push(await block(round))
  metrics?.close()
  await core.close()
  return median(samples)
}

if (values.child !== undefined) {
  const [transport, mode] = values.child.split(':') as ['ws' | 'lp', 'with' | 'without']
  console.log(await measure(transport, mode === 'with'))
} else {
  const script = new URL(import.meta.url).pathname
  const child = (transport: string, mode: string): number => {
    const run = spawnSync(process.execPath, ['--import=tsx', script, ...process.argv.slice(2), '--child', `${transport}:${mode}`], { encoding: 'utf8' })
    if (run.status !== 0) throw new Error(run.stderr)
    return Number(run.stdout.trim())
  }
  for (const transport of ['ws', 'lp']) {
    const samples: Record<string, number[]> = { without: [], with: [] }
    for (let i = 0; i < Number(values.runs); i++) {
      for (const mode of ['without', 'with']) samples[mode]!.push(child(transport, mode))
    }
    const [a, b] = [median(samples['without']!), median(samples['with']!)]
    console.log(`${transport}: CPU µs per delivery, median of ${values.runs} processes each: without ${a.toFixed(3)}, with ${FEATURE} ${b.toFixed(3)} (${b >= a ? '+' : ''}${((b - a) * 1000).toFixed(0)} ns, ${((b / a - 1) * 100).toFixed(1)}%)`)
    for (const mode of ['without', 'with']) console.log(`  ${mode.padEnd(7)}: ${samples[mode]!.map(x => x.toFixed(3)).join(' ')}`)
  }
}
