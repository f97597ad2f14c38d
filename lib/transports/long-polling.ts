import { httpTransport } from './http.ts'
import { parseEnvelope, parseParts, refusal } from './envelope.ts'

const EMPTY_BODY = refusal(400, 'empty_body', 'empty body')
const NO_MESSAGE = refusal(400, 'message_parameter_missing', 'missing message parameter')
const FORM = 'application/x-www-form-urlencoded'
const JSON_START = /^\s*[[{]/
const JSON_TYPE = 'application/json; charset=utf-8'

/**
 * `long-polling`: a POST whose body is a JSON batch, whatever its content type
 * (C80), answered with a JSON array (C82). A form-encoded body carries the batch in
 * `message` parameters instead, as older CometD clients send it.
 */
export const longPolling = httpTransport({
  name: 'long-polling',
  method: 'POST',

  read (exchange, options) {
    const body = exchange.body
    if (typeof body !== 'string' || body.length === 0) return EMPTY_BODY
    // Some clients label a JSON body as a form: only a body that cannot be JSON is read as one.
    if (exchange.request.headers['content-type']?.startsWith(FORM) === true && !JSON_START.test(body)) {
      const parts = new URLSearchParams(body).getAll('message')
      return parts.length === 0 ? NO_MESSAGE : parseParts(parts, options.maxMessagesPerBatch)
    }
    return parseEnvelope(body, options.maxMessagesPerBatch)
  },

  write (json, _exchange, headers) {
    headers['content-type'] = JSON_TYPE
    return json
  }
})
