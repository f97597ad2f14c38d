// Sends one recorded HTTP request (long-polling POST or callback-polling GET) with undici.
import diagnostics from 'node:diagnostics_channel'
import type { Socket } from 'node:net'
import { Agent, request as undiciRequest } from 'undici'
import type { HttpStep, Message } from '../trace.ts'
import { parseJsonp, parseMessages } from '../wire.ts'
import type { ClientBindings } from './bindings.ts'

export type HttpRequest = Pick<HttpStep['request'], 'method' | 'jsonp'> & { messages: Message[] }

export interface HttpAnswer {
  status: number
  contentType: string | null
  callback?: string
  /** Parsed body; null when it was empty or not a Bayeux payload. */
  messages: Message[] | null
  body: string
}

/** Told when a request has left and when the server has answered it, with the connection it used. */
export interface WriteWatcher {
  /** undici has written the request out on `socket` (unknown only if undici stops saying); returns a token for `answered`. */
  written (socket: Socket | undefined): number
  /** The response headers arrived: the server has read the request written with `token`. */
  answered (socket: Socket, token: number): void
}

interface Tracked {
  watcher: WriteWatcher
  socket?: Socket
  token?: number
}

// undici creates its Request object synchronously inside request(); the diagnostics channels let us
// learn on which connection that request was written out and when, so that later steps leave in the
// recorded order, and when the server answered it.
const tracked = new WeakMap<object, Tracked>()
let nextRequest: WriteWatcher | undefined
diagnostics.subscribe('undici:request:create', message => {
  if (nextRequest === undefined) return
  tracked.set((message as { request: object }).request, { watcher: nextRequest })
  nextRequest = undefined
})
diagnostics.subscribe('undici:client:sendHeaders', message => {
  const { request, socket } = message as { request: object, socket: Socket }
  const entry = tracked.get(request)
  if (entry !== undefined) entry.socket = socket
})
diagnostics.subscribe('undici:request:bodySent', message => {
  const entry = tracked.get((message as { request: object }).request)
  if (entry !== undefined) entry.token = entry.watcher.written(entry.socket)
})
diagnostics.subscribe('undici:request:headers', message => {
  const entry = tracked.get((message as { request: object }).request)
  if (entry?.socket !== undefined && entry.token !== undefined) entry.watcher.answered(entry.socket, entry.token)
})

/** Sends `request` (messages already substituted) with the client's cookies. */
export async function sendHttp (dispatcher: Agent, url: URL, request: HttpRequest, bindings: ClientBindings, limitMs: number, watcher: WriteWatcher): Promise<HttpAnswer> {
  const { messages, method } = request
  const cookie = bindings.cookieHeader()
  const headers: Record<string, string> = cookie === undefined ? {} : { cookie }
  let body: string | undefined
  if (method === 'GET') {
    url.searchParams.set('jsonp', request.jsonp ?? 'jsonpcallback')
    url.searchParams.set('message', JSON.stringify(messages))
  } else {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(messages)
  }
  nextRequest = watcher
  const pending = undiciRequest(url, { method, headers, body, dispatcher, headersTimeout: limitMs, bodyTimeout: limitMs })
  nextRequest = undefined
  const response = await pending
  const text = await response.body.text()
  bindings.storeCookies(response.headers['set-cookie'])
  const contentType = response.headers['content-type']
  const answer: HttpAnswer = { status: response.statusCode, contentType: typeof contentType === 'string' ? contentType : null, messages: null, body: text }
  if (method === 'GET') {
    const parsed = parseJsonp(text)
    if (parsed !== null) {
      answer.callback = parsed.callback
      answer.messages = parsed.messages
    }
  } else {
    answer.messages = parseMessages(text)
  }
  return answer
}
