/**
 * Several bin/bayeux-server processes started alike, as the nodes of a cluster (put them
 * behind spec/support/haproxy.ts): each on 127.0.0.1 and a port of its own, which it
 * keeps when killed and started again, so that the balancer finds the replacement where
 * the dead node was. They run the compiled dist/: run `npm run build` first when
 * running a test file alone.
 */
import type { CliProcess, Exit } from './cli-process.ts'
import { serveCli } from './cli-process.ts'
import type { Teardown } from './services.ts'

export class Nodes {
  /** Each node's Bayeux URL, `http://127.0.0.1:<port>/cometd` by default; a restarted node keeps its URL. */
  readonly urls: readonly string[]
  /** Each node's `127.0.0.1:<port>`, as `Haproxy.start` takes them. */
  readonly addresses: readonly string[]
  readonly #t: Teardown
  readonly #args: readonly string[]
  readonly #processes: CliProcess[]

  private constructor (t: Teardown, args: string[], processes: CliProcess[], urls: string[]) {
    this.#t = t
    this.#args = args
    this.#processes = processes
    this.urls = urls
    this.addresses = urls.map(url => new URL(url).host)
  }

  /**
   * Starts `count` nodes with `args` (e.g. `['--redis', url, '--redis-prefix', prefix]`;
   * not `--port` or `--host`), each on a free port; resolves once every one serves.
   * All are killed when `t` ends, and waited for.
   */
  static async start (t: Teardown, count: number, args: string[] = []): Promise<Nodes> {
    const processes = Array.from({ length: count }, () => serveCli(t, args))
    const nodes = new Nodes(t, args, processes, await Promise.all(processes.map(node => node.url)))
    t.teardown(() => Promise.all(nodes.#processes.map((_, i) => nodes.kill(i))))
    return nodes
  }

  /** The process of node `i` now: its logs, its exit. */
  process (i: number): CliProcess {
    return this.#at(i)
  }

  /** Sends `signal` (SIGKILL by default: a crash) to node `i` if it still runs; resolves once it has exited. */
  async kill (i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> {
    const node = this.#at(i)
    if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill(signal)
    return await node.exited
  }

  /**
   * Starts a new node `i`, on the port of the one it replaces, with the shared arguments
   * or `args`; resolves to its URL once it serves. Kill the old one first.
   */
  async restart (i: number, args: readonly string[] = this.#args): Promise<string> {
    const old = this.#at(i)
    if (old.child.exitCode === null && old.child.signalCode === null) throw new Error(`Nodes.restart: node ${i} still runs; kill() it first`)
    const node = serveCli(this.#t, [...args, '--port', new URL(this.urls[i]!).port])
    this.#processes[i] = node
    return await node.url
  }

  #at (i: number): CliProcess {
    const node = this.#processes[i]
    if (node === undefined) throw new RangeError(`Nodes: no node ${i} (${this.#processes.length} started)`)
    return node
  }
}
