import type { LoadGenerator } from '../loadgen/generator.ts'
import { takeHeapSnapshot } from '../os/heap-snapshots.ts'
import type { ServerGroup } from '../servers/server-group.ts'
import { broadcast } from './workloads.ts'

const SETTLE_MS = 1000
const BROADCAST_TIMEOUT_MS = 30_000
const POLL_MS = 10

export interface C10kResult {
  sessions: number
  opened: number
  failed: number
  lastError: string
  connectSeconds: number
  serverRssMiB: number
  rssPerSessionKiB: number
  idleCpuPercent: number
  /** When half, and when all, of the copies of one broadcast had arrived. */
  broadcastHalfMs: number
  broadcastMs: number
  broadcastDelivered: number
}

/** With BENCH_HEAP_SNAPSHOTS, a heap snapshot of every node (bench/os/heap-snapshots.ts). */
async function heapSnapshots (server: ServerGroup, when: string): Promise<void> {
  for (const node of server.nodes) {
    const file = await takeHeapSnapshot(node.pid)
    if (file !== undefined) console.log(`  heap snapshot, ${when}: ${file}`)
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Many idle sessions on one channel: what they cost the server at rest, and one broadcast to all. */
export async function runC10k (server: ServerGroup, generator: LoadGenerator, sessions: number, idleMs: number): Promise<C10kResult> {
  const load = broadcast(sessions)
  const empty = server.sample()
  await heapSnapshots(server, 'empty')
  const start = performance.now()
  const opening = await generator.open(load.sessions, 1)
  const connectSeconds = (performance.now() - start) / 1000
  await sleep(SETTLE_MS)
  const idleStart = server.sample()
  await sleep(idleMs)
  const idleEnd = server.sample()
  await heapSnapshots(server, `${opening.opened} sessions idle`)

  await generator.observe(true)
  await generator.publish(1000, 1, load.channels, 50) // exactly one message
  const deadline = performance.now() + BROADCAST_TIMEOUT_MS
  let seen = await generator.observe(false)
  while (seen.counts.unique < opening.opened && performance.now() < deadline) {
    await sleep(POLL_MS)
    seen = await generator.observe(false)
  }
  return {
    sessions,
    opened: opening.opened,
    failed: opening.failed,
    lastError: opening.lastError,
    connectSeconds,
    serverRssMiB: idleEnd.rssBytes / 2 ** 20,
    rssPerSessionKiB: (idleEnd.rssBytes - empty.rssBytes) / 1024 / Math.max(1, opening.opened),
    idleCpuPercent: (idleEnd.cpuMicros - idleStart.cpuMicros) / idleMs / 10,
    broadcastHalfMs: seen.latency.percentile(0.5) / 1000,
    broadcastMs: seen.latency.max / 1000,
    broadcastDelivered: seen.counts.unique
  }
}
