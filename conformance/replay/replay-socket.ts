// One replayed WebSocket connection: remembers everything the server sent, in arrival order.
import type { Socket } from 'node:net'
import { WebSocket } from 'ws'
import type { Message } from '../trace.ts'
import { parseMessages } from '../wire.ts'

export class ReplaySocket {
  readonly received: Message[] = []
  closedBy: 'client' | 'server' | null = null
  closeCode = 0
  /** The TCP connection the socket runs on. */
  readonly connection: Socket
  #socket: WebSocket
  #listeners: Array<() => void> = []
  #replyWatchers: Array<{ ids: Set<string>, callback: () => void }> = []

  private constructor (socket: WebSocket, connection: Socket) {
    this.#socket = socket
    this.connection = connection
    socket.on('message', data => {
      const messages = parseMessages(data.toString()) ?? []
      this.received.push(...messages)
      this.#replied(messages)
      this.#notify()
    })
    socket.on('close', code => {
      this.closedBy ??= 'server'
      this.closeCode = code
      this.#notify()
    })
    socket.on('error', () => {})
  }

  static open (url: URL): Promise<ReplaySocket> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url)
      let connection: Socket | undefined
      socket.once('upgrade', response => { connection = response.socket })
      socket.once('open', () => resolve(new ReplaySocket(socket, connection!)))
      socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused with HTTP ${response.statusCode ?? '?'}`)))
      socket.once('error', reject)
    })
  }

  get open (): boolean {
    return this.#socket.readyState === WebSocket.OPEN
  }

  send (messages: Message[]): void {
    this.#socket.send(JSON.stringify(messages))
  }

  close (code: number, reason: string): void {
    this.closedBy ??= 'client'
    if (code === 1000 || (code >= 3000 && code < 5000)) this.#socket.close(code, reason)
    else this.#socket.close()
  }

  terminate (): void {
    this.#socket.terminate()
  }

  /** Calls `callback` once a message carrying one of `ids` arrives (a reply, or a remote-call answer). */
  onReply (ids: string[], callback: () => void): void {
    if (ids.length > 0) this.#replyWatchers.push({ ids: new Set(ids), callback })
  }

  #replied (messages: Message[]): void {
    const arrived = messages.flatMap(m => typeof m.id === 'string' ? [m.id] : [])
    if (arrived.length === 0) return
    this.#replyWatchers = this.#replyWatchers.filter(watcher => {
      if (!arrived.some(id => watcher.ids.has(id))) return true
      watcher.callback()
      return false
    })
  }

  /** Resolves once `condition` holds or `ms` passed; tells which. */
  async until (condition: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms
    while (!condition()) {
      const remaining = deadline - Date.now()
      if (remaining <= 0) return false
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, remaining)
        this.#listeners.push(() => { clearTimeout(timer); resolve() })
      })
    }
    return true
  }

  #notify (): void {
    for (const listener of this.#listeners.splice(0)) listener()
  }
}
