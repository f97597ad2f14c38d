/**
 * What the Redis and HAProxy test helpers share: free loopback ports, temporary
 * directories, daemons run as child processes (killed at teardown, and when the test
 * process exits however it exits), and the rule for a service a test needs but cannot
 * find: skip it on a developer's machine, fail it in CI, where it must be there.
 */
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Exit } from './cli-process.ts'

export interface Teardown { teardown (fn: () => unknown): void }

/** A test that can be ended early: tap's `Test`. */
export interface Skippable extends Teardown {
  plan (n: number, comment?: string): void
  fail (message: string): boolean
}

/**
 * Ends `t` when `missing` names something it needs: skipped with that reason, or, under
 * `CI=true`, failed. Returns whether the test may go on. Call it before any assertion.
 */
export function need (t: Skippable, missing: string | undefined): boolean {
  if (missing === undefined) return true
  if (process.env['CI'] === 'true') t.fail(`${missing} (CI must provide it: see .ci/run)`)
  else t.plan(0, missing)
  return false
}

/** Whether `command args` runs and exits 0. */
export function runs (command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0
}

/**
 * A port that was free on 127.0.0.1 a moment ago. Another process may take it before
 * the caller binds it: callers that start daemons retry with another one.
 */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise(resolve => server.close(resolve))
  return port
}

/**
 * Where `tempDir` puts a directory `inMemory`: Linux's tmpfs. A file there outlives the
 * process that wrote it, as on disk, but an fsync returns at once, where on a disk
 * busy with other test files it took seconds (Redis's append-only file and a cluster
 * node's nodes.conf are fsynced on every write).
 */
const MEMORY_DIR = existsSync('/dev/shm') ? '/dev/shm' : tmpdir()

/**
 * A new empty directory under the system's temporary one (or, `inMemory`, under
 * MEMORY_DIR), removed when `t` ends.
 */
export async function tempDir (t: Teardown, name: string, { inMemory = false } = {}): Promise<string> {
  const dir = await mkdtemp(join(inMemory ? MEMORY_DIR : tmpdir(), `${name}-`))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

const alive = new Set<ChildProcess>()
// A test process that dies without running its teardowns (an uncaught error, a timeout)
// must not leave daemons behind on a shared machine: 'exit' handlers run synchronously,
// and kill() is synchronous.
process.on('exit', () => { for (const child of alive) child.kill('SIGKILL') })

export interface Daemon {
  readonly child: ChildProcess
  readonly exited: Promise<Exit>
  /** Standard output and error so far, interleaved. */
  output (): string
  /** Sends `signal` (SIGKILL by default) unless it already exited; resolves once it has. */
  stop (signal?: NodeJS.Signals): Promise<Exit>
}

/**
 * Spawns `command args` in `cwd`; resolves once `ready` resolves, or rejects with the
 * daemon's output when it exits first. `ready` gets the daemon and may watch its output.
 */
export async function startDaemon (command: string, args: string[], cwd: string, ready: (daemon: Daemon) => Promise<unknown>): Promise<Daemon> {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  alive.add(child)
  let output = ''
  child.stdout!.on('data', chunk => { output += chunk })
  child.stderr!.on('data', chunk => { output += chunk })
  const exited = new Promise<Exit>(resolve => {
    child.on('exit', (code, signal) => { alive.delete(child); resolve({ code, signal }) })
    child.on('error', error => { output += String(error); alive.delete(child); resolve({ code: null, signal: null }) })
  })
  const daemon: Daemon = {
    child,
    exited,
    output: () => output,
    async stop (signal = 'SIGKILL') {
      if (alive.has(child)) child.kill(signal)
      return await exited
    }
  }
  const failed = exited.then(exit => { throw new Error(`${command} exited (${exit.signal ?? exit.code}) before it was ready:\n${output}`) })
  try {
    await Promise.race([ready(daemon), failed])
  } catch (error) {
    await daemon.stop()
    throw error
  }
  failed.catch(() => {})
  return daemon
}

/** Resolves once the daemon's output matches `pattern`. */
export function printed (daemon: Daemon, pattern: RegExp): Promise<void> {
  return new Promise(resolve => {
    const look = (): void => {
      if (!pattern.test(daemon.output())) return
      daemon.child.stdout!.off('data', look)
      daemon.child.stderr!.off('data', look)
      resolve()
    }
    daemon.child.stdout!.on('data', look)
    daemon.child.stderr!.on('data', look)
    look()
  })
}

/** Retries `attempt` (which picks its own free ports) when a port was taken meanwhile. */
export async function onFreePorts<T> (attempt: () => Promise<T>, tries = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt()
    } catch (error) {
      if (i >= tries || !/in use/i.test(String(error))) throw error
    }
  }
}
