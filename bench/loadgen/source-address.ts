import { connect, type Socket } from 'node:net'

const FIRST_PORT = 20_000
const LAST_PORT = 60_999
const BIND_ATTEMPTS = 10

/** The callback shape undici's `connect` option expects. */
export type ConnectCallback = (...result: [null, Socket] | [Error, null]) => void

/**
 * One source address in 127.0.0.0/8 that hands out its own ports. Binding a source address
 * with port 0 makes the kernel search for a free port on every connect, which dominated the
 * generator's CPU at thousands of sockets; choosing the port here costs nothing.
 */
export class SourceAddress {
  readonly address: string
  #nextPort = FIRST_PORT

  constructor (address: string) {
    this.address = address
  }

  nextPort (): number {
    const port = this.#nextPort
    this.#nextPort = port >= LAST_PORT ? FIRST_PORT : port + 1
    return port
  }

  /** Connects from this address, moving to the next port when one happens to be taken. */
  connect (host: string, port: number, callback: ConnectCallback, attempt = 1): void {
    const socket = connect({ host, port, localAddress: this.address, localPort: this.nextPort() })
    const onError = (error: NodeJS.ErrnoException): void => {
      socket.destroy()
      if (isPortTaken(error) && attempt < BIND_ATTEMPTS) this.connect(host, port, callback, attempt + 1)
      else callback(error, null)
    }
    socket.once('error', onError)
    socket.once('connect', () => {
      socket.off('error', onError)
      socket.setNoDelay(true)
      callback(null, socket)
    })
  }
}

export function isPortTaken (error: NodeJS.ErrnoException): boolean {
  return error.code === 'EADDRINUSE' || error.code === 'EADDRNOTAVAIL'
}
