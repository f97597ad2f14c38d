/**
 * bin/bayeux-server as a child process, for end-to-end tests of what only the CLI does
 * (flags, variables, files, signals, exit codes): what it printed and how it exited. It
 * runs the compiled dist/, which `npm test` builds before any test runs: run
 * `npm run build` first when running such a test file alone.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

export interface Exit { code: number | null, signal: NodeJS.Signals | null }

export interface CliProcess {
  readonly child: ChildProcess
  /** The URL of the `serving` line, once printed; rejects if the process ends first. */
  readonly url: Promise<string>
  /** How the process ended, once all it printed has been read. */
  readonly exited: Promise<Exit>
  stdout (): string
  stderr (): string
  /** Every JSON line logged on stdout so far (pino), parsed. */
  logs (): Array<Record<string, any>>
  /** Resolves to what `find` finds in stdout (anything but undefined), once printed; rejects if the process ends first. */
  until<T> (find: (stdout: string) => T | undefined): Promise<T>
  /** The first group of `pattern` (or the whole match) in stdout, once printed; rejects if the process ends first. */
  line (pattern: RegExp): Promise<string>
}

export interface CliOptions {
  /** Variables for the process; those of the test's environment named BAYEUX_* are never passed on. */
  env?: Record<string, string>
  /** Its working directory: the repository's root unless given. */
  cwd?: string
}

interface Teardown { teardown (fn: () => unknown): void }

const SERVING = /^bayeux-server: serving (\S+)(?: with \d+ workers)?$/m

/** Runs bin/bayeux-server with exactly `args`; killed when `t` ends if still running. */
export function runCli (t: Teardown, args: string[], options: CliOptions = {}): CliProcess {
  // NODE_OPTIONS carries tap's hooks for test processes; the CLI under test needs none, and starts faster without them.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('BAYEUX_') && name !== 'NODE_OPTIONS'))
  const child = spawn(process.execPath, [`${root}bin/bayeux-server`, ...args], { cwd: options.cwd ?? root, env: { ...inherited, ...options.env } })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let stdout = ''
  let stderr = ''
  let ended = false
  const waiting = new Set<() => void>()
  const wake = (): void => { for (const check of [...waiting]) check() }
  child.stdout.on('data', chunk => {
    stdout += chunk
    wake()
  })
  child.stderr.on('data', chunk => { stderr += chunk })
  // 'close' rather than 'exit': by then stdout and stderr have been read to their end.
  const exited = new Promise<Exit>(resolve => child.on('close', (code, signal) => {
    ended = true
    resolve({ code, signal })
    wake()
  }))
  const until = <T>(find: (stdout: string) => T | undefined, what = 'printing what was waited for'): Promise<T> => new Promise((resolve, reject) => {
    const check = (): void => {
      const found = find(stdout)
      if (found === undefined && !ended) return
      waiting.delete(check)
      if (found !== undefined) resolve(found)
      else reject(new Error(`exited before ${what}: ${stderr}`))
    }
    waiting.add(check)
    check()
  })
  const match = (pattern: RegExp) => (text: string): string | undefined => {
    const found = pattern.exec(text)
    return found === null ? undefined : found[1] ?? found[0]
  }
  const url = until(match(SERVING), 'serving')
  url.catch(() => {})
  return {
    child,
    url,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    logs: () => stdout.split('\n').filter(line => line.startsWith('{')).map(line => JSON.parse(line)),
    until: find => until(find),
    line: pattern => until(match(pattern), `printing ${pattern}`)
  }
}

/**
 * Serves on 127.0.0.1 and a free port, logging at warn, with `args` after these defaults
 * (a later flag wins); killed when `t` ends if still running.
 */
export function serveCli (t: Teardown, args: string[], options: CliOptions = {}): CliProcess {
  return runCli(t, ['--host', '127.0.0.1', '--port', '0', '--log-level', 'warn', ...args], options)
}
