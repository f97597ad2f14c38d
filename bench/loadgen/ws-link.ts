import WebSocket from 'ws'
import type { Link, LinkFactory, Message } from './bayeux-client.ts'
import { isPortTaken, type SourceAddress } from './source-address.ts'

const BIND_ATTEMPTS = 10

function openSocket (url: string, source: SourceAddress, attempt = 1): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    // Compression off: it costs both sides CPU and none of the servers need it.
    const socket = new WebSocket(url, { perMessageDeflate: false, localAddress: source.address, localPort: source.nextPort() })
    socket.once('open', () => resolve(socket))
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (isPortTaken(error) && attempt < BIND_ATTEMPTS) resolve(openSocket(url, source, attempt + 1))
      else reject(error)
    })
  })
}

/** Bayeux over one WebSocket: every batch is one text frame. */
export function webSocketLink (url: string, source: SourceAddress): LinkFactory {
  return async (listener) => {
    const socket = await openSocket(url, source)
    socket.on('message', (frame: Buffer) => {
      const parsed: Message | Message[] = JSON.parse(frame.toString())
      listener.receive(Array.isArray(parsed) ? parsed : [parsed])
    })
    const link: Link = {
      connectionType: 'websocket',
      send (messages: Message[]) {
        if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(messages))
        else listener.fail(messages, new Error('websocket not open'))
      },
      close () {
        socket.close()
      }
    }
    return link
  }
}
