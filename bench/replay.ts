// node --import=tsx bench/replay.ts [--events 1000] [--subscribers 1000] [--transport ws,lp]
//
// How long the server takes to replay its history to many subscribers at once (issue 11):
// bin/bayeux-server runs with --history, EVENTS events are published on /replay/0, SUBSCRIBERS
// sessions are opened, then every one of them subscribes at the same moment asking for every
// retained event (ext.replay -2), as clients do when they all come back after an outage.
// Measured, per transport: the time from sending those subscribes until each session has
// every event (median, p99 and the last session), the server's CPU over that time and per
// replayed event. Each session checks that it got EVENTS events with strictly increasing ids.
// The server is pinned to the first half of the cores, this process to the other half.
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { Pool } from 'undici'
import { BayeuxClient, type ClientProblems, type LinkFactory, type Message } from './loadgen/bayeux-client.ts'
import { longPollingLink } from './loadgen/http-link.ts'
import type { Transport } from './loadgen/protocol.ts'
import { SourceAddress } from './loadgen/source-address.ts'
import { webSocketLink } from './loadgen/ws-link.ts'
import { coreLayout, pin, type CoreLayout } from './os/cpu-pinning.ts'
import { compileCheckouts, SERVERS } from './servers/catalog.ts'
import { ServerProcess } from './servers/server-process.ts'

const CHANNEL = '/replay/0'
const OPENING_CONCURRENCY = 100
const PUBLISH_BATCH = 100

export interface ReplayFigures {
  transport: Transport
  /** ms from sending the subscribes until a session had every event: median, p99, last. */
  p50Ms: number
  p99Ms: number
  lastMs: number
  serverCpuMs: number
  serverCpuMicrosPerEvent: number
  /** CPU of this process (every subscriber) over the same time: near the wall time, it was the limit. */
  generatorCpuMs: number
  /** Sessions that got fewer or more events than EVENTS, or ids out of order. */
  incomplete: number
  problems: ClientProblems
}

/** One session's view of the replay: how many events, whether their ids rose, when the last came. */
class ReplayCount {
  readonly #events: number
  count = 0
  lastId = 0
  ordered = true
  doneAt = 0
  readonly #done: () => void

  constructor (events: number, done: () => void) {
    this.#events = events
    this.#done = done
  }

  readonly onEvent = (message: Message): void => {
    const id = (message['ext'] as { replay?: { id?: number } } | undefined)?.replay?.id ?? 0
    if (id <= this.lastId) this.ordered = false
    this.lastId = id
    if (++this.count === this.#events) {
      this.doneAt = performance.now()
      this.#done()
    }
  }
}

function linkFactory (transport: Transport, url: URL, source: SourceAddress, pools: Pool[]): LinkFactory {
  if (transport === 'ws') return webSocketLink(url.href.replace(/^http/, 'ws'), source)
  const pool = new Pool(url.origin, { pipelining: 1, connect: (options, callback) => source.connect(options.hostname, Number(url.port), callback) })
  pools.push(pool)
  return longPollingLink(pool, url.pathname)
}

async function inParallel (count: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) await work(next++)
  }
  await Promise.all(Array.from({ length: Math.min(OPENING_CONCURRENCY, count) }, worker))
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

/** Replays `events` events to `subscribers` sessions subscribing at once over `transport`. */
export async function measureReplay (transport: Transport, events: number, subscribers: number, cores: CoreLayout | undefined): Promise<ReplayFigures> {
  const EVENTS = events
  const SUBSCRIBERS = subscribers
  const definition = { ...SERVERS['ours-history'], nodeArgs: (timeoutMs: number) => [...SERVERS['ours-history'].nodeArgs(timeoutMs, undefined), '--history-size', String(EVENTS)] }
  const server = await ServerProcess.start(definition, 30_000, cores?.server, undefined)
  const url = new URL(server.url)
  const source = new SourceAddress('127.0.0.2')
  const pools: Pool[] = []
  const problems: ClientProblems = { failedReplies: 0, transportErrors: 0, lastError: '', sessionsLost: 0 }
  const clients: BayeuxClient[] = []
  try {
    // The history: EVENTS events, published a batch at a time (a long-polling client would join
    // queued batches into one payload, over maxMessagesPerBatch); the publisher's own copies say
    // when a batch is in.
    let published = 0
    let batchIn = (): void => {}
    let batchEnd = 0
    const publisher = new BayeuxClient(() => { if (++published === batchEnd) batchIn() }, problems)
    clients.push(publisher)
    await publisher.open(linkFactory(transport, url, source, pools))
    await publisher.subscribe([CHANNEL])
    for (let sent = 0; sent < EVENTS; sent = batchEnd) {
      batchEnd = Math.min(sent + PUBLISH_BATCH, EVENTS)
      const inHistory = new Promise<void>(resolve => { batchIn = resolve })
      publisher.publish(Array.from({ length: batchEnd - sent }, (_, i) => ({ channel: CHANNEL, data: { n: sent + i, text: 'x'.repeat(50) } })))
      await inHistory
    }

    let finished = 0
    let allReplayed = (): void => {}
    const replayed = new Promise<void>(resolve => { allReplayed = resolve })
    const counts = Array.from({ length: SUBSCRIBERS }, () => new ReplayCount(EVENTS, () => { if (++finished === SUBSCRIBERS) allReplayed() }))
    const subscribers: BayeuxClient[] = new Array(SUBSCRIBERS)
    await inParallel(SUBSCRIBERS, async index => {
      const client = new BayeuxClient(counts[index]!.onEvent, problems)
      clients.push(client)
      await client.open(linkFactory(transport, url, source, pools))
      subscribers[index] = client
    })

    const cpuBefore = server.sample().cpuMicros
    const generatorBefore = process.cpuUsage()
    const start = performance.now()
    const subscribed = subscribers.map(client => client.subscribe([CHANNEL], { replay: { [CHANNEL]: -2 } }))
    await Promise.all([replayed, ...subscribed])
    const serverCpuMs = (server.sample().cpuMicros - cpuBefore) / 1000
    const generator = process.cpuUsage(generatorBefore)
    const times = counts.map(count => count.doneAt - start).sort((a, b) => a - b)
    return {
      transport,
      p50Ms: quantile(times, 0.5),
      p99Ms: quantile(times, 0.99),
      lastMs: times.at(-1)!,
      serverCpuMs,
      serverCpuMicrosPerEvent: (serverCpuMs * 1000) / (EVENTS * SUBSCRIBERS),
      generatorCpuMs: (generator.user + generator.system) / 1000,
      incomplete: counts.filter(count => count.count !== EVENTS || !count.ordered).length,
      problems
    }
  } finally {
    for (const client of clients) client.close()
    await Promise.all(pools.map(pool => pool.close()))
    await server.stop()
  }
}

const isMain = import.meta.url === `file://${process.argv[1]}`
if (isMain) {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '1000' },
      subscribers: { type: 'string', default: '1000' },
      transport: { type: 'string', default: 'ws,lp' }
    }
  })
  const [events, subscribers] = [Number(values.events), Number(values.subscribers)]
  compileCheckouts(['ours-history'])
  const cores = coreLayout()
  pin(process.pid, cores?.generator)
  console.log(`load average at start: ${loadavg().map(x => x.toFixed(2)).join(' ')}`)
  console.log('| transport | events × subscribers | median ms | p99 ms | last ms | server CPU ms | server CPU µs/event | generator CPU ms | incomplete sessions |')
  console.log('|---|---|---|---|---|---|---|---|---|')
  for (const transport of values.transport.split(',') as Transport[]) {
    const f = await measureReplay(transport, events, subscribers, cores)
    console.log(`| ${transport} | ${events} × ${subscribers} | ${f.p50Ms.toFixed(0)} | ${f.p99Ms.toFixed(0)} | ${f.lastMs.toFixed(0)} | ${f.serverCpuMs.toFixed(0)} | ${f.serverCpuMicrosPerEvent.toFixed(2)} | ${f.generatorCpuMs.toFixed(0)} | ${f.incomplete} |`)
    if (f.problems.failedReplies + f.problems.transportErrors > 0) console.log(`  problems: ${JSON.stringify(f.problems)}`)
  }
  console.log(`load average at end: ${loadavg().map(x => x.toFixed(2)).join(' ')}`)
}
