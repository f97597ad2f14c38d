// Makes a server read the first request of every connection late, the way a busy event loop gets
// round to a socket that became readable while it was serving others (Node's epoll loop serves the
// sockets it read from in its previous round first). A request written later on a connection
// already in use is then read before one written earlier on a new connection: the replay must not
// depend on the server reading requests in the order they were written.
//
// Linux only: it watches the connection's receive queue in /proc/net/tcp to know when the request
// has arrived, and stops and restarts reading through the socket's libuv handle (Node's HTTP server
// reads its sockets natively, so socket.pause() does not stop it).
import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { addressKey, tcpTable } from '../replay/server-reads.ts'

interface StreamHandle {
  readStart (): number
  readStop (): number
}

/** Reads each new connection's first bytes `delayMs` after they arrived; returns a function that stops doing so. */
export function readFirstRequestsLate (server: Server, delayMs: number): () => void {
  const stopped = new AbortController()
  const onConnection = (socket: Socket): void => {
    // Listeners run in order: Node's HTTP server has set the socket up and started reading.
    const handle = (socket as unknown as { _handle: StreamHandle | null })._handle
    if (handle === null) return
    handle.readStop()
    void watch(socket, handle)
  }
  const watch = async (socket: Socket, handle: StreamHandle): Promise<void> => {
    const ours = addressKey(socket.localAddress ?? '', socket.localPort ?? 0) ?? ''
    const theirs = addressKey(socket.remoteAddress ?? '', socket.remotePort ?? 0) ?? ''
    while (!stopped.signal.aborted && !socket.destroyed) {
      const table = await tcpTable()
      if (table === null) break
      if ((table.get(ours, theirs, socket.localPort ?? 0)?.rx ?? 0) > 0) {
        await new Promise(resolve => setTimeout(resolve, delayMs))
        break
      }
      await new Promise(resolve => setTimeout(resolve, 2))
    }
    if (!socket.destroyed) handle.readStart()
  }
  server.on('connection', onConnection)
  return () => {
    stopped.abort()
    server.off('connection', onConnection)
  }
}
