// The practical limit over long-polling: a bare `node:http` server that understands just enough
// Bayeux for the load generator. A publish is serialized once; every subscriber whose connect is
// held gets it in that connect's response at once, the others find it queued on their next
// connect. No framework, validation, cookies, timer wheels, extensions or security: what is left
// is the cost of one HTTP round trip per reply, which every long-polling server pays.
import { createServer, type ServerResponse } from 'node:http'
import { announce, serverArgs } from './server-args.ts'

interface Message {
  channel: string
  id?: string
  clientId?: string
  data?: unknown
  subscription?: string | string[]
  advice?: { timeout?: number }
}

interface Session {
  /** Serialized events not yet sent. */
  queue: string[]
  /** The held connect: its response and its serialized reply. */
  held: { response: ServerResponse, reply: string, timer: NodeJS.Timeout } | undefined
}

const { host, port, timeoutMs } = serverArgs()
const sessions = new Map<string, Session>()
const subscribers = new Map<string, Set<Session>>()
let nextClientId = 0

function send (response: ServerResponse, parts: string[]): void {
  response.writeHead(200, { 'content-type': 'application/json' }).end(`[${parts.join(',')}]`)
}

function release (session: Session): void {
  const held = session.held!
  session.held = undefined
  clearTimeout(held.timer)
  const events = session.queue
  session.queue = []
  send(held.response, [...events, held.reply])
}

/** Answers a batch, now or, for a held connect, when an event or the timeout comes. */
function handle (messages: Message[], response: ServerResponse): void {
  const replies: string[] = []
  for (const message of messages) {
    const session = sessions.get(message.clientId ?? '')
    const reply: Record<string, unknown> = { channel: message.channel, id: message.id, successful: true }
    switch (message.channel) {
      case '/meta/handshake': {
        const clientId = String(++nextClientId)
        sessions.set(clientId, { queue: [], held: undefined })
        Object.assign(reply, { clientId, version: '1.0', supportedConnectionTypes: ['long-polling'] })
        break
      }
      case '/meta/connect':
        if (session === undefined) break
        if (message.advice?.timeout !== 0 && session.queue.length === 0 && messages.length === 1) {
          const timer = setTimeout(() => release(session), timeoutMs)
          session.held = { response, reply: JSON.stringify(reply), timer }
          return
        }
        replies.push(...session.queue)
        session.queue = []
        break
      case '/meta/subscribe':
        for (const channel of ([] as string[]).concat(message.subscription ?? [])) {
          if (!subscribers.has(channel)) subscribers.set(channel, new Set())
          if (session !== undefined) subscribers.get(channel)!.add(session)
        }
        reply.subscription = message.subscription
        break
      case '/meta/disconnect':
        if (session === undefined) break
        sessions.delete(message.clientId!)
        for (const set of subscribers.values()) set.delete(session)
        break
      default: {
        const event = JSON.stringify({ channel: message.channel, data: message.data })
        for (const subscriber of subscribers.get(message.channel) ?? []) {
          subscriber.queue.push(event)
          if (subscriber.held !== undefined) release(subscriber)
        }
      }
    }
    replies.push(JSON.stringify(reply))
  }
  send(response, replies)
}

const server = createServer((request, response) => {
  let body = ''
  request.setEncoding('utf8')
  request.on('data', (chunk: string) => (body += chunk))
  request.on('end', () => handle(JSON.parse(body) as Message[], response))
})
server.keepAliveTimeout = 2 * timeoutMs
server.listen(port, host, () => announce(server))
