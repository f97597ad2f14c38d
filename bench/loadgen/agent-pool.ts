import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { pin } from '../os/cpu-pinning.ts'
import { extraNodeArgs } from '../os/node-args.ts'
import type { CollectResult, Command, OpenCommand, OpenResult, PublishCommand, PublishResult, Reply } from './protocol.ts'

const AGENT_SCRIPT = fileURLToPath(new URL('./agent.ts', import.meta.url))

/** Controller-side handle on one agent process: a tiny request/reply RPC over the IPC channel. */
export class Agent {
  readonly process: ChildProcess
  #nextId = 0
  #waiting = new Map<number, { resolve: (value: unknown) => void, reject: (error: Error) => void }>()

  constructor (cores: string | undefined) {
    this.process = fork(AGENT_SCRIPT, { execArgv: ['--import=tsx', ...extraNodeArgs('agent')], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    pin(this.process.pid!, cores)
    this.process.on('message', (reply: Reply) => {
      const waiter = this.#waiting.get(reply.id)
      this.#waiting.delete(reply.id)
      if (reply.error !== undefined) waiter?.reject(new Error(`agent ${this.process.pid}: ${reply.error}`))
      else waiter?.resolve(reply.result)
    })
    this.process.on('exit', (code) => {
      for (const waiter of this.#waiting.values()) waiter.reject(new Error(`agent exited with ${code}`))
      this.#waiting.clear()
    })
  }

  open (command: Omit<OpenCommand, 'kind'>): Promise<OpenResult> {
    return this.#call({ kind: 'open', ...command }) as Promise<OpenResult>
  }

  publish (command: Omit<PublishCommand, 'kind'>): Promise<PublishResult> {
    return this.#call({ kind: 'publish', ...command }) as Promise<PublishResult>
  }

  collect (reset: boolean): Promise<CollectResult> {
    return this.#call({ kind: 'collect', reset }) as Promise<CollectResult>
  }

  async stop (): Promise<void> {
    if (this.process.exitCode !== null) return
    const exited = new Promise((resolve) => this.process.once('exit', resolve))
    await this.#call({ kind: 'close' }).catch(() => this.process.kill())
    await exited
  }

  #call (command: Command): Promise<unknown> {
    const id = ++this.#nextId
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject })
      this.process.send({ id, command })
    })
  }
}
