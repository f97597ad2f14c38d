import type { FastifyReply, FastifyRequest } from 'fastify'
import { parsePayload, toBatch } from './envelope.ts'
import type { Envelope } from './envelope.ts'
import type { HttpTransport, ReadLimits } from './http.ts'

/**
 * A JSONP callback must be a plain identifier path: what CometD's (`_cometd_jsonp_3`)
 * and Faye's (`__jsonp1__`) clients generate, and nothing that could smuggle script.
 */
const CALLBACK = /^[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*$/

const LINE_SEPARATORS = /[\u2028\u2029]/g

type Query = Record<string, string | string[] | undefined>

/**
 * `callback-polling`: a GET carrying `jsonp=<callback>` and one or more
 * `message=<JSON batch>`, answered with `<callback>([...])` as a script (C84, C85),
 * hardened against content sniffing (BAYEUX.md §5.3, §7.2).
 */
export const callbackPolling: HttpTransport = {
  name: 'callback-polling',

  read (request: FastifyRequest, limits: ReadLimits): Envelope {
    const query = request.query as Query
    const callback = query['jsonp']
    if (typeof callback !== 'string') return { ok: false, status: 400, reason: 'exactly one jsonp parameter is required' }
    if (callback.length > limits.jsonpCallbackMaxLength || !CALLBACK.test(callback)) return { ok: false, status: 400, reason: 'invalid jsonp callback' }
    const raw = query['message']
    if (raw === undefined) return { ok: false, status: 400, reason: 'missing message parameter' }
    const parts = typeof raw === 'string' ? [raw] : raw
    if (parts.reduce((size, part) => size + part.length, 0) > limits.maxBodySize) return { ok: false, status: 413, reason: 'message too large' }
    const batch: unknown[] = []
    for (const part of parts) {
      const parsed = parsePayload(part)
      if (!parsed.ok) return parsed
      // Each `message` may hold an array or one message; together they form the batch.
      if (Array.isArray(parsed.value)) batch.push(...parsed.value)
      else batch.push(parsed.value)
    }
    return toBatch(batch, limits.maxMessagesPerBatch)
  },

  write (reply: FastifyReply, json: string, request: FastifyRequest): void {
    const callback = (request.query as Query)['jsonp'] as string
    reply
      .type('text/javascript; charset=utf-8')
      .header('x-content-type-options', 'nosniff')
      .header('content-disposition', 'attachment; filename=f.txt')
      .header('cache-control', 'no-cache, no-store')
      .send(`/**/${callback}(${json.replace(LINE_SEPARATORS, escapeSeparator)});`)
  }
}

function escapeSeparator (char: string): string {
  return char === '\u2028' ? '\\u2028' : '\\u2029'
}
