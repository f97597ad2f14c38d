// Knowing when the server has read what the replay wrote, so that the next client action only
// leaves once it has.
//
// A client writing request 1 on one TCP connection and then request 2 on another does not make the
// server read them in that order: the kernel queues them on two sockets, and a busy server picks
// sockets in an order of its own. Node's epoll loop, for one, serves a socket it read from in its
// previous round ahead of one that became readable since, so under load a disconnect written on the
// connection that just carried a batch is read before a connect written earlier on a second
// connection, and the connect is answered 402. The recording shows the server read the connect first
// (it was held, then released by the disconnect); the replay must make the server do so too.
//
// A response proves the server read a request, and costs nothing to know. Otherwise: a server run
// in this process can tell (ReadOracle: its end of the connection has read as many bytes as ours
// wrote); on Linux the receive queue of every TCP socket of this host is in /proc/net/tcp{,6}, and
// the server has read a request once its end of the connection has nothing left to read (rx_queue
// 0). When the server is on another host there is nothing to see: the next action then leaves once
// the request is written.
import { readFile } from 'node:fs/promises'
import { isIPv4, isIPv6, type Server, type Socket } from 'node:net'
import { endianness } from 'node:os'

interface Queues {
  /** Bytes received and not yet read by the application. */
  rx: number
}

const TABLES = ['/proc/net/tcp', '/proc/net/tcp6']
let unavailable = false
let next: Promise<TcpTable | null> | undefined

/**
 * A snapshot of the host's TCP sockets, taken after the call (callers of the same tick share
 * one); null where /proc/net/tcp cannot be read (not Linux).
 */
export function tcpTable (): Promise<TcpTable | null> {
  if (unavailable) return Promise.resolve(null)
  return (next ??= new Promise(resolve => {
    setImmediate(() => {
      next = undefined
      readTables().then(texts => resolve(new TcpTable(texts)), () => {
        unavailable = true
        resolve(null)
      })
    })
  }))
}

async function readTables (): Promise<Buffer[]> {
  return await Promise.all(TABLES.map(path => readFile(path).catch((error: NodeJS.ErrnoException) => {
    // A host without IPv6 has no tcp6 table; without the IPv4 one there is nothing to go on.
    if (path.endsWith('6') && error.code === 'ENOENT') return Buffer.alloc(0)
    throw error
  })))
}

/**
 * The host's TCP sockets. A busy host has thousands: only the lines of the ports asked about are
 * parsed, into `<local address>|<remote address>` keys (each address as `addressKey` makes it).
 */
export class TcpTable {
  #texts: Buffer[]
  #byPort = new Map<number, Map<string, Queues>>()

  constructor (texts: Buffer[]) {
    this.#texts = texts
  }

  /** The socket from `local` to `remote` (`addressKey`s), one of them with port `port`. */
  get (local: string, remote: string, port: number): Queues | undefined {
    let sockets = this.#byPort.get(port)
    if (sockets === undefined) this.#byPort.set(port, sockets = this.#parse(port))
    return sockets.get(`${local}|${remote}`)
  }

  /** Every socket with `port` at either end. */
  #parse (port: number): Map<string, Queues> {
    const sockets = new Map<string, Queues>()
    const needle = `:${port.toString(16).toUpperCase().padStart(4, '0')} `
    const NEWLINE = 0x0a
    // Searched as bytes: a busy host's table is hundreds of kilobytes, and this runs often.
    for (const text of this.#texts) {
      for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
        const start = text.lastIndexOf(NEWLINE, at) + 1
        const end = text.indexOf(NEWLINE, at)
        // sl local_address rem_address st tx_queue:rx_queue ...
        const fields = text.toString('latin1', start, end < 0 ? undefined : end).trim().split(/\s+/)
        const [local, remote, queues] = [fields[1], fields[2], fields[4]]
        if (local === undefined || remote === undefined || queues === undefined) continue
        const rx = parseInt(queues.split(':')[1] ?? '', 16)
        if (!Number.isNaN(rx)) sockets.set(`${procAddress(local)}|${procAddress(remote)}`, { rx })
        if (end < 0) break
        at = end
      }
    }
    return sockets
  }
}

/** `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6), as an address key. */
function procAddress (field: string): string {
  const [hex = '', port = ''] = field.split(':')
  // The kernel prints each 32-bit word of the address as a native-endian number.
  const words = hex.match(/.{8}/g) ?? []
  const bytes = words.flatMap(word => {
    const pairs = word.match(/../g) ?? []
    return endianness() === 'LE' ? pairs.reverse() : pairs
  })
  return `${ipv6Bytes(bytes.map(pair => parseInt(pair, 16)))}:${parseInt(port, 16)}`
}

/** An IP address as its IPv6 form (IPv4 mapped), 32 hex digits. */
function ipv6Bytes (bytes: number[]): string {
  const full = bytes.length === 4 ? [...Array<number>(10).fill(0), 0xff, 0xff, ...bytes] : bytes
  return full.map(byte => byte.toString(16).padStart(2, '0')).join('')
}

/** Node's textual address (`127.0.0.1`, `::1`, `::ffff:127.0.0.1`) as an address key. */
export function addressKey (ip: string, port: number): string | undefined {
  if (isIPv4(ip)) return `${ipv6Bytes(ip.split('.').map(Number))}:${port}`
  if (!isIPv6(ip)) return undefined
  let groups: number[]
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(ip)?.[1]
  const text = v4 === undefined ? ip : ip.slice(0, -v4.length) + '0:0'
  const [head = '', tail] = text.split('::')
  const parse = (part: string): number[] => part === '' ? [] : part.split(':').map(group => parseInt(group, 16))
  if (tail === undefined) groups = parse(head)
  else groups = [...parse(head), ...Array<number>(8 - parse(head).length - parse(tail).length).fill(0), ...parse(tail)]
  const bytes = groups.flatMap(group => [group >> 8, group & 0xff])
  if (v4 !== undefined) bytes.splice(12, 4, ...v4.split('.').map(Number))
  return `${ipv6Bytes(bytes)}:${port}`
}

/**
 * Whether the server has read everything written on `socket`, as far as `table` shows: the server's
 * end has nothing left to read. Over loopback, what a write hands the kernel is in the peer's
 * receive queue when the write returns. When the server's end is not on this host, true.
 */
export function serverHasRead (socket: Socket, table: TcpTable): boolean {
  if (socket.destroyed || socket.localAddress === undefined || socket.remoteAddress === undefined) return true
  if (socket.writableLength > 0) return false
  const ours = addressKey(socket.localAddress, socket.localPort ?? 0)
  const theirs = addressKey(socket.remoteAddress, socket.remotePort ?? 0)
  if (ours === undefined || theirs === undefined) return true
  return (table.get(theirs, ours, socket.remotePort ?? 0)?.rx ?? 0) === 0
}

/**
 * Whether the server has read everything written on a client connection to it; undefined when it
 * cannot tell (not one of its connections).
 */
export type ReadOracle = (socket: Socket) => boolean | undefined

/** A ReadOracle for a server listening in this process: it compares the bytes read at its end. */
export function readOracle (server: Server): ReadOracle {
  const accepted = new Map<string, Socket>()
  const key = (address: string | undefined, port: number | undefined): string => `${address ?? ''}|${port ?? 0}`
  server.on('connection', (socket: Socket) => {
    const peer = key(socket.remoteAddress, socket.remotePort)
    accepted.set(peer, socket)
    socket.once('close', () => { if (accepted.get(peer) === socket) accepted.delete(peer) })
  })
  return socket => {
    if (socket.destroyed) return true
    const end = accepted.get(key(socket.localAddress, socket.localPort))
    if (end === undefined || end.localPort !== socket.remotePort) return undefined
    return end.destroyed || end.bytesRead >= socket.bytesWritten
  }
}

/** The connections of one replay on which something was written that the server may not have read. */
export class ServerReads {
  #unread = new Map<Socket, number>()
  #writes = 0
  #oracle: ReadOracle | undefined

  constructor (oracle?: ReadOracle) {
    this.#oracle = oracle
  }

  /** Something was written on `socket`; returns a token for `answered`. */
  wrote (socket: Socket): number {
    this.#writes++
    this.#unread.set(socket, this.#writes)
    return this.#writes
  }

  /**
   * The write `token` on `socket` was answered (HTTP response headers, a WebSocket reply to one of
   * its messages): the server has read it and, a connection being read in order, what came before.
   */
  answered (socket: Socket, token: number): void {
    if (this.#unread.get(socket) === token) this.#unread.delete(socket)
  }

  /**
   * Resolves once the server has read everything written so far on connections other than `next`
   * (the one the next action goes out on, if known: a connection is read in order anyway), or
   * `limitMs` passed (false; a server that stops reading is judged by what it answers, not here).
   */
  async settle (limitMs: number, next?: Socket): Promise<boolean> {
    const deadline = Date.now() + limitMs
    const waiting = (): Socket[] => [...this.#unread.keys()].filter(socket => socket !== next)
    for (let pause = 1; waiting().length > 0; pause = Math.min(pause * 2, 16)) {
      const unknown = waiting().filter(socket => {
        const read = this.#oracle?.(socket)
        if (read === true) this.#unread.delete(socket)
        return read === undefined
      })
      const table = unknown.length > 0 ? await tcpTable() : undefined
      for (const socket of unknown) {
        if (table === null || (table !== undefined && serverHasRead(socket, table))) this.#unread.delete(socket)
      }
      if (waiting().length === 0) break
      if (Date.now() >= deadline) return false
      await new Promise(resolve => setTimeout(resolve, pause))
    }
    return true
  }
}
