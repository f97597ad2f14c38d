/**
 * bin/bayeux-server as a child process, for end-to-end tests of the CLI. It runs the
 * compiled dist/, which `npm test` builds from lib/ before any test runs (run
 * `npm run build` first when running such a test file alone).
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

export interface Run {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  /** How the process ended. */
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  /** The URL from the `serving` line, once printed. */
  readonly url: Promise<string>
}

/** Starts the CLI with `args` in `cwd`; the environment has no BAYEUX_* variables but `env`'s. */
export function run (args: string[], env: Record<string, string> = {}, cwd = root): Run {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('BAYEUX_')))
  const child = spawn(process.execPath, [join(root, 'bin', 'bayeux-server'), ...args], { cwd, env: { ...inherited, ...env } })
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', chunk => { stderr += chunk })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => child.on('exit', (code, signal) => resolve({ code, signal })))
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', chunk => {
      stdout += chunk
      const serving = /^bayeux-server: serving (\S+)$/m.exec(stdout)
      if (serving !== null) resolve(serving[1]!)
    })
    exited.then(() => reject(new Error(`exited before serving: ${stderr}`)))
  })
  url.catch(() => {})
  return { child, stdout: () => stdout, stderr: () => stderr, exited, url }
}

/** Runs the CLI in the background for one test; killed at teardown if still running. */
export function serve (t: { teardown (fn: () => unknown): void }, args: string[], env: Record<string, string> = {}, cwd = root): Run {
  const running = run(['--host', '127.0.0.1', '--port', '0', '--log-level', 'warn', ...args], env, cwd)
  t.teardown(() => { if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL') })
  return running
}
