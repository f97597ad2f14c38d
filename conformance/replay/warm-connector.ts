// Hands undici TCP connections opened (and accepted by the server) before the replay starts.
// A request on a brand-new connection can reach a server after a later request sent on an
// established one; with warm connections requests arrive in the order they were written.
import net from 'node:net'
import type { buildConnector } from 'undici'

export class WarmConnector {
  #spare: net.Socket[] = []
  #host: string
  #port: number

  constructor (target: URL) {
    this.#host = target.hostname.replace(/^\[|\]$/g, '')
    this.#port = Number(target.port || 80)
  }

  /** Opens `count` connections and waits until they are established. */
  async warm (count: number): Promise<void> {
    const opened = await Promise.all(Array.from({ length: count }, () => this.#open().catch(() => null)))
    this.#spare.push(...opened.filter((socket): socket is net.Socket => socket !== null))
  }

  readonly connect: buildConnector.connector = (_options, callback) => {
    const socket = this.#takeSpare()
    if (socket !== undefined) {
      // undici expects the callback after connect() has returned, as with a real connection.
      setImmediate(() => callback(null, socket))
      return
    }
    this.#open().then(fresh => callback(null, fresh), (error: Error) => callback(error, null))
  }

  close (): void {
    for (const socket of this.#spare.splice(0)) socket.destroy()
  }

  #takeSpare (): net.Socket | undefined {
    for (let socket = this.#spare.shift(); socket !== undefined; socket = this.#spare.shift()) {
      if (!socket.destroyed && socket.readyState === 'open') return socket
    }
    return undefined
  }

  #open (): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: this.#host, port: this.#port })
      socket.once('connect', () => { socket.removeListener('error', reject); resolve(socket) })
      socket.once('error', reject)
    })
  }
}
