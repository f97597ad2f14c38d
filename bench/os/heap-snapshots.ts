import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Heap snapshots of the servers under test, for c10k: where each byte of an idle session
 * goes. With BENCH_HEAP_SNAPSHOTS=<dir>, servers start with `--heapsnapshot-signal` and
 * write their snapshots to <dir>; c10k asks for one before the sessions open and one
 * while they idle (`bench/orchestration/heap-diff.ts` compares them). Writing a snapshot
 * stops the server for a while: the idle CPU of such a run means nothing.
 */
export const HEAP_SNAPSHOT_DIR = process.env.BENCH_HEAP_SNAPSHOTS

export function heapSnapshotNodeArgs (): string[] {
  return HEAP_SNAPSHOT_DIR === undefined ? [] : ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${HEAP_SNAPSHOT_DIR}`]
}

const POLL_MS = 200
const TIMEOUT_MS = 120_000

/** Has process `pid` write a heap snapshot, and waits until it is complete; its path. */
export async function takeHeapSnapshot (pid: number): Promise<string | undefined> {
  if (HEAP_SNAPSHOT_DIR === undefined) return undefined
  const before = new Set(snapshots(pid))
  process.kill(pid, 'SIGUSR2')
  const deadline = Date.now() + TIMEOUT_MS
  let size = -1
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
    const file = snapshots(pid).find((name) => !before.has(name))
    if (file === undefined) continue
    // Written in one go, ending with the strings table: complete once it stops growing.
    const now = statSync(join(HEAP_SNAPSHOT_DIR, file)).size
    if (now === size) return join(HEAP_SNAPSHOT_DIR, file)
    size = now
  }
  throw new Error(`no heap snapshot from process ${pid} within ${TIMEOUT_MS / 1000} s`)
}

function snapshots (pid: number): string[] {
  return readdirSync(HEAP_SNAPSHOT_DIR!).filter((name) => name.endsWith('.heapsnapshot') && name.includes(`.${pid}.`))
}
