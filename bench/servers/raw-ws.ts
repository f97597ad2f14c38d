// The practical limit: a bare `ws` server that understands just enough Bayeux for the load
// generator, serializes each published message once, and writes that one buffer to every
// subscribed socket. No sessions, queues, timers or extensions.
import { createServer } from 'node:http'
import { WebSocketServer, type WebSocket } from 'ws'
import { announce, serverArgs } from './server-args.ts'

interface Message {
  channel: string
  id?: string
  data?: unknown
  subscription?: string | string[]
  advice?: { timeout?: number }
}

const { host, port } = serverArgs()
const subscribers = new Map<string, Set<WebSocket>>()
let sessions = 0

function reply (request: Message, fields: Record<string, unknown> = {}): Message {
  return { channel: request.channel, id: request.id, successful: true, ...fields } as Message
}

function handle (socket: WebSocket, message: Message): Message | undefined {
  switch (message.channel) {
    case '/meta/handshake':
      return reply(message, { clientId: String(++sessions), version: '1.0', supportedConnectionTypes: ['websocket'] })
    case '/meta/connect':
      // Held for ever unless an immediate answer is asked for: the socket itself is the session.
      return message.advice?.timeout === 0 ? reply(message) : undefined
    case '/meta/subscribe':
      for (const channel of ([] as string[]).concat(message.subscription ?? [])) {
        if (!subscribers.has(channel)) subscribers.set(channel, new Set())
        subscribers.get(channel)!.add(socket)
      }
      return reply(message, { subscription: message.subscription })
    case '/meta/disconnect':
      return reply(message)
    default: {
      const frame = Buffer.from(JSON.stringify([{ channel: message.channel, data: message.data }]))
      for (const subscriber of subscribers.get(message.channel) ?? []) subscriber.send(frame, { binary: false })
      return reply(message)
    }
  }
}

const server = createServer((_request, response) => response.writeHead(400).end())
const sockets = new WebSocketServer({ server, path: '/cometd', perMessageDeflate: false })
sockets.on('connection', (socket) => {
  socket.on('message', (frame: Buffer) => {
    const replies = (JSON.parse(frame.toString()) as Message[]).flatMap((message) => handle(socket, message) ?? [])
    if (replies.length > 0) socket.send(JSON.stringify(replies))
  })
  socket.on('close', () => {
    for (const set of subscribers.values()) set.delete(socket)
  })
})
server.listen(port, host, () => announce(server))
