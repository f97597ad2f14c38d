/**
 * A loopback TCP proxy that can cut every live connection on demand: both sockets are
 * destroyed at once, so an HTTP response dies mid-flight and a WebSocket just vanishes
 * (no close frame), as when a network drops.
 */
import { connect, createServer } from 'node:net'
import type { Server, Socket } from 'node:net'

interface Teardown { teardown (fn: () => unknown): void }

export class CuttingProxy {
  /** `http://127.0.0.1:<proxy port><path of the target>`. */
  readonly url: string
  readonly #server: Server
  readonly #live = new Set<readonly [Socket, Socket]>()
  #cuts = 0
  #severed = 0

  private constructor (server: Server, url: string) {
    this.#server = server
    this.url = url
  }

  /** Listens on 127.0.0.1, a free port, in front of `targetUrl`; closed when `t` ends. */
  static async start (t: Teardown, targetUrl: string): Promise<CuttingProxy> {
    const target = new URL(targetUrl)
    // Assigned once the server it is made from listens; the server's handler reads it.
    // eslint-disable-next-line prefer-const
    let proxy: CuttingProxy | undefined
    const server = createServer(client => proxy!.#pipe(client, Number(target.port)))
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    proxy = new CuttingProxy(server, `http://127.0.0.1:${port}${target.pathname}`)
    t.teardown(() => proxy.close())
    return proxy
  }

  /** How many times cut() found something to cut. */
  get cuts (): number {
    return this.#cuts
  }

  /** Connections destroyed by cut(), over all cuts. */
  get severed (): number {
    return this.#severed
  }

  /** Destroys every live connection, both sides; returns how many died. */
  cut (): number {
    const pairs = [...this.#live]
    this.#live.clear()
    for (const pair of pairs) for (const socket of pair) socket.destroy()
    if (pairs.length > 0) this.#cuts++
    this.#severed += pairs.length
    return pairs.length
  }

  async close (): Promise<void> {
    this.cut()
    await new Promise(resolve => this.#server.close(resolve))
  }

  #pipe (client: Socket, port: number): void {
    const upstream = connect(port, '127.0.0.1')
    const pair = [client, upstream] as const
    this.#live.add(pair)
    // A pair lives and dies together: whichever side closes or fails takes the other down.
    for (const [socket, other] of [pair, [upstream, client]] as const) {
      socket.setNoDelay(true)
      socket.on('error', () => other.destroy())
      socket.on('close', () => {
        this.#live.delete(pair)
        other.destroy()
      })
      socket.pipe(other)
    }
  }
}
