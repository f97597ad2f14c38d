import { httpTransport } from './http.ts'
import { parseParts, refusal } from './envelope.ts'

/**
 * A JSONP callback must be a plain identifier path: what CometD's (`_cometd_jsonp_3`)
 * and Faye's (`__jsonp1__`) clients generate, and nothing that could smuggle script.
 */
const CALLBACK = /^[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*$/

const LINE_SEPARATORS = /[\u2028\u2029]/g

const NO_CALLBACK = refusal(400, 'jsonp_callback_invalid', 'exactly one jsonp parameter is required')
const BAD_CALLBACK = refusal(400, 'jsonp_callback_invalid', 'invalid jsonp callback')
const NO_MESSAGE = refusal(400, 'message_parameter_missing', 'missing message parameter')
const TOO_LARGE = refusal(413, 'too_large', 'message too large')

/**
 * `callback-polling`: a GET carrying `jsonp=<callback>` and one or more
 * `message=<JSON batch>`, answered with `<callback>([...])` as a script (C84, C85),
 * hardened against content sniffing (docs/protocol.md §5.3, §7.2).
 */
export const callbackPolling = httpTransport({
  name: 'callback-polling',
  method: 'GET',

  read (exchange, options) {
    const query = exchange.query
    const callback = query['jsonp']
    if (typeof callback !== 'string') return NO_CALLBACK
    if (callback.length > options.jsonpCallbackMaxLength || !CALLBACK.test(callback)) return BAD_CALLBACK
    const raw = query['message']
    if (raw === undefined) return NO_MESSAGE
    const parts = typeof raw === 'string' ? [raw] : raw
    if (parts.reduce((size, part) => size + part.length, 0) > options.maxBodySize) return TOO_LARGE
    return parseParts(parts, options.maxMessagesPerBatch)
  },

  write (json, exchange, headers) {
    const callback = exchange.query['jsonp'] as string
    headers['content-type'] = 'text/javascript; charset=utf-8'
    headers['x-content-type-options'] = 'nosniff'
    headers['content-disposition'] = 'attachment; filename=f.txt'
    headers['cache-control'] = 'no-cache, no-store'
    return `/**/${callback}(${json.replace(LINE_SEPARATORS, escapeSeparator)});`
  }
})

function escapeSeparator (char: string): string {
  return char === '\u2028' ? '\\u2028' : '\\u2029'
}
