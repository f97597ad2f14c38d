/**
 * bin/bayeux-server as a child process, for end-to-end tests of what only the CLI does
 * (signals, exit codes): its URL, how it exited, and the pino lines it logged. It runs
 * the compiled dist/: run `npm run build` first when running a test file alone.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

export interface Exit { code: number | null, signal: NodeJS.Signals | null }

export interface CliProcess {
  readonly child: ChildProcess
  /** The URL of the `serving` line, once printed (with `--workers n`, the primary's line for them all). */
  readonly url: Promise<string>
  readonly exited: Promise<Exit>
  /** Every JSON line logged on stdout so far (pino), parsed. */
  logs (): Array<Record<string, any>>
  stderr (): string
}

/**
 * Serves on 127.0.0.1 and a free port with `args` after the defaults (a later flag
 * wins), without the BAYEUX_* variables of the test's environment; killed at teardown
 * if still running.
 */
export function serveCli (t: { teardown (fn: () => unknown): void }, args: string[]): CliProcess {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('BAYEUX_')))
  const child = spawn(process.execPath, ['bin/bayeux-server', '--host', '127.0.0.1', '--port', '0', '--log-level', 'warn', ...args], { cwd: root, env })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', chunk => { stderr += chunk })
  const exited = new Promise<Exit>(resolve => child.on('exit', (code, signal) => resolve({ code, signal })))
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', chunk => {
      stdout += chunk
      const serving = /^bayeux-server: serving (\S+)(?: with \d+ workers)?$/m.exec(stdout)
      if (serving !== null) resolve(serving[1]!)
    })
    exited.then(() => reject(new Error(`exited before serving: ${stderr}`)))
  })
  url.catch(() => {})
  return {
    child,
    url,
    exited,
    logs: () => stdout.split('\n').filter(line => line.startsWith('{')).map(line => JSON.parse(line)),
    stderr: () => stderr
  }
}
