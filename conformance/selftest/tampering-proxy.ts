// A deliberately broken server for the suite's own tests: a loopback proxy in front of a real
// server that rewrites every Bayeux payload the server sends (HTTP, JSONP and WebSocket).
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import type { Message } from '../trace.ts'
import { parseJsonp, parseMessages } from '../wire.ts'

export type Tamper = (messages: Message[]) => Message[]

export interface TamperingProxy {
  url: string
  close (): Promise<void>
}

/** Replies to publishes (not meta, no data, with `successful`), which tampering usually targets. */
export function isPublishAck (message: Message): boolean {
  return !String(message.channel).startsWith('/meta/') && 'successful' in message && !('data' in message)
}

export async function startTamperingProxy (target: string, tamper: Tamper): Promise<TamperingProxy> {
  const upstream = new URL(target)
  const sockets = new Set<Socket>()
  const wss = new WebSocketServer({ noServer: true })
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const outgoing = http.request({ host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers }, incoming => {
        const body: Buffer[] = []
        incoming.on('data', (chunk: Buffer) => body.push(chunk))
        incoming.on('end', () => {
          const text = rewrite(Buffer.concat(body).toString('utf8'), tamper)
          const headers = { ...incoming.headers, 'content-length': String(Buffer.byteLength(text)) }
          delete headers['transfer-encoding']
          response.writeHead(incoming.statusCode ?? 502, headers).end(text)
        })
      })
      outgoing.on('error', () => response.destroy())
      outgoing.end(Buffer.concat(chunks))
    })
  })
  server.on('connection', socket => { sockets.add(socket); socket.on('close', () => sockets.delete(socket)) })
  server.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', target)
    url.protocol = 'ws:'
    const server = new WebSocket(url)
    server.once('error', () => socket.destroy())
    server.once('open', () => wss.handleUpgrade(request, socket, head, client => {
      client.on('message', data => server.send(data.toString()))
      server.on('message', data => client.send(rewrite(data.toString(), tamper)))
      client.on('close', () => server.close())
      server.on('close', () => client.close())
    }))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}${upstream.pathname}`,
    close: async () => {
      for (const client of wss.clients) client.terminate()
      for (const socket of sockets) socket.destroy()
      await new Promise(resolve => server.close(resolve))
    }
  }
}

function rewrite (text: string, tamper: Tamper): string {
  const messages = parseMessages(text)
  if (messages !== null) return JSON.stringify(tamper(messages))
  const jsonp = parseJsonp(text)
  if (jsonp?.messages != null) return `${jsonp.callback}(${JSON.stringify(tamper(jsonp.messages))})`
  return text
}
