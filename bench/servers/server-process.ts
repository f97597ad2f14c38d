import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { pin } from '../os/cpu-pinning.ts'
import { extraNodeArgs } from '../os/node-args.ts'
import { childrenOf, sampleProcessTree, type ProcessSample } from '../os/proc-stats.ts'
import type { ServerDefinition } from './catalog.ts'
import type { RedisTarget } from './server-args.ts'

const STARTUP_TIMEOUT_MS = 20_000

/**
 * A command the server's node runs under (e.g. valgrind), with Node flags of its own and
 * how long to wait for its announcement: such a tool slows start-up many times over.
 */
export interface Launcher {
  command: string[]
  nodeArgs: string[]
  startupTimeoutMs: number
}

/** A server under test running as its own process; it announces its URL on stdout. */
export class ServerProcess {
  readonly url: string
  readonly #child: ChildProcess
  #stopping = false

  private constructor (child: ChildProcess, url: string) {
    this.#child = child
    this.url = url
  }

  static async start (definition: ServerDefinition, timeoutMs: number, cores: string | undefined, redis: RedisTarget | undefined, launcher?: Launcher): Promise<ServerProcess> {
    const [command, ...args] = [...(launcher?.command ?? []), process.execPath, ...(launcher?.nodeArgs ?? []), ...extraNodeArgs('server'), ...definition.nodeArgs(timeoutMs, redis)]
    const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${definition.name} did not announce a URL`)), launcher?.startupTimeoutMs ?? STARTUP_TIMEOUT_MS)
      child.once('exit', (code) => reject(new Error(`${definition.name} exited with ${code} before listening`)))
      // Keep reading after the announcement so a chatty server never blocks on a full pipe.
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const match = /https?:\/\/\S+/.exec(line)
        if (match !== null) {
          clearTimeout(timer)
          resolve(match[0])
        }
      })
    })
    // Workers (node:cluster) were forked before the announcement: pin them with their primary.
    for (const pid of [child.pid!, ...childrenOf(child.pid!)]) pin(pid, cores)
    const server = new ServerProcess(child, url)
    child.once('exit', (code, signal) => {
      if (!server.#stopping) console.error(`${definition.name} exited unexpectedly (${signal ?? `code ${code}`})`)
    })
    return server
  }

  get pid (): number {
    return this.#child.pid!
  }

  sample (): ProcessSample {
    return sampleProcessTree(this.pid)
  }

  async stop (): Promise<void> {
    if (this.#child.exitCode !== null) return
    this.#stopping = true
    const exited = new Promise((resolve) => this.#child.once('exit', resolve))
    this.#child.kill('SIGTERM')
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3000)
    await exited
    clearTimeout(timer)
  }
}
