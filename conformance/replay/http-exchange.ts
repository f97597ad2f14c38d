// Sends one recorded HTTP request (long-polling POST or callback-polling GET) with undici.
import diagnostics from 'node:diagnostics_channel'
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

// undici creates its Request object synchronously inside request(); the diagnostics channels let us
// learn when that request has been written out, so later steps leave in the recorded order.
const written = new WeakMap<object, () => void>()
let nextRequestWritten: (() => void) | undefined
diagnostics.subscribe('undici:request:create', message => {
  if (nextRequestWritten === undefined) return
  written.set((message as { request: object }).request, nextRequestWritten)
  nextRequestWritten = undefined
})
diagnostics.subscribe('undici:request:bodySent', message => {
  written.get((message as { request: object }).request)?.()
})

/** Sends `request` (messages already substituted) with the client's cookies. */
export async function sendHttp (dispatcher: Agent, url: URL, request: HttpRequest, bindings: ClientBindings, limitMs: number, onWritten: () => void): Promise<HttpAnswer> {
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
  nextRequestWritten = onWritten
  const pending = undiciRequest(url, { method, headers, body, dispatcher, headersTimeout: limitMs, bodyTimeout: limitMs })
  nextRequestWritten = undefined
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
