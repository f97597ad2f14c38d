/**
 * A Redis Cluster of the test's own: masters only (three by default, no replicas), each
 * a `redis-server` on a free loopback port with its cluster bus on another, in a
 * temporary directory, keeping nothing on disk. Connect with `createCluster({ rootNodes:
 * cluster.rootNodes })`.
 */
import { spawn } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { delay } from '../helpers.ts'
import { redisServerArgs, startRedisServer } from './redis.ts'
import type { Daemon, Teardown } from './services.ts'
import { freePort, onFreePorts, tempDir } from './services.ts'

/** Runs `redis-cli args`; resolves to its output, or rejects with it when it fails. */
async function redisCli (args: string[]): Promise<string> {
  const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', chunk => { output += chunk })
  child.stderr.on('data', chunk => { output += chunk })
  const code = await new Promise(resolve => child.on('close', resolve))
  if (code !== 0) throw new Error(`redis-cli ${args.join(' ')} exited ${code}:\n${output}`)
  return output
}

export class RedisCluster {
  /** Each master's `{ port, url }`, `url` being `redis://127.0.0.1:<port>`. */
  readonly nodes: ReadonlyArray<{ readonly port: number, readonly url: string }>
  readonly #daemons: Daemon[]

  private constructor (ports: number[], daemons: Daemon[]) {
    this.nodes = ports.map(port => ({ port, url: `redis://127.0.0.1:${port}` }))
    this.#daemons = daemons
  }

  /** As `createCluster` takes them: every master. */
  get rootNodes (): Array<{ url: string }> {
    return this.nodes.map(({ url }) => ({ url }))
  }

  /**
   * Starts `masters` servers, joins them into a cluster with the 16384 slots shared
   * among them, and resolves once every one reports `cluster_state:ok`. Killed, and
   * their directories removed, when `t` ends.
   */
  static async start (t: Teardown, masters = 3): Promise<RedisCluster> {
    const root = await tempDir(t, 'bayeux-redis-cluster', { inMemory: true })
    const daemons: Daemon[] = []
    // tap runs teardowns last-in first-out: the servers die before their directories go.
    t.teardown(() => Promise.all(daemons.map(daemon => daemon.stop())))
    const ports: number[] = []
    for (let i = 0; i < masters; i++) {
      const dir = join(root, String(i))
      await mkdir(dir)
      await onFreePorts(async () => {
        const port = await freePort()
        const bus = await freePort()
        if (bus === port) throw new Error('bus port in use')
        daemons.push(await startRedisServer([...redisServerArgs(port, dir), '--cluster-enabled', 'yes', '--cluster-port', String(bus), '--cluster-config-file', 'nodes.conf'], dir))
        ports.push(port)
      })
    }
    await redisCli(['--cluster', 'create', ...ports.map(port => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'])
    const cluster = new RedisCluster(ports, daemons)
    for (const port of ports) await cluster.#untilOk(port)
    return cluster
  }

  async #untilOk (port: number): Promise<void> {
    let info = ''
    for (let waited = 0; waited < 20_000; waited += 50) {
      info = await redisCli(['-h', '127.0.0.1', '-p', String(port), 'cluster', 'info'])
      if (/^cluster_state:ok\r?$/m.test(info)) return
      await delay(50)
    }
    throw new Error(`redis cluster: 127.0.0.1:${port} never reported cluster_state:ok:\n${info}`)
  }
}
