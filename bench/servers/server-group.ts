import type { ProcessSample } from '../os/proc-stats.ts'
import type { ServerDefinition } from './catalog.ts'
import type { RedisTarget } from './server-args.ts'
import { ServerProcess } from './server-process.ts'

/**
 * The processes of one server under test: one for a single node, N sharing a Redis for a
 * cluster. Its samples are sums over every process, so CPU per delivery counts every node.
 */
export class ServerGroup {
  readonly nodes: ServerProcess[]

  private constructor (nodes: ServerProcess[]) {
    this.nodes = nodes
  }

  static async start (definition: ServerDefinition, count: number, timeoutMs: number, cores: string | undefined, redis: RedisTarget | undefined): Promise<ServerGroup> {
    const started = await Promise.allSettled(Array.from({ length: count }, () => ServerProcess.start(definition, timeoutMs, cores, redis)))
    const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
    const failure = started.find((result) => result.status === 'rejected')
    if (failure !== undefined) {
      await Promise.all(nodes.map((node) => node.stop()))
      throw failure.reason
    }
    return new ServerGroup(nodes)
  }

  /** Each node's URL, in start order: node 0 is the publishers' node in cross-node cases. */
  get urls (): string[] {
    return this.nodes.map((node) => node.url)
  }

  sample (): ProcessSample {
    const samples = this.nodes.map((node) => node.sample())
    return {
      cpuMicros: samples.reduce((sum, sample) => sum + sample.cpuMicros, 0),
      systemMicros: samples.reduce((sum, sample) => sum + sample.systemMicros, 0),
      rssBytes: samples.reduce((sum, sample) => sum + sample.rssBytes, 0)
    }
  }

  async stop (): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()))
  }
}
