import type { BadInputReason } from '../diagnostics.ts'

/** A payload that cannot be served: the HTTP status, the stable reason, and what to tell the peer. */
export interface Refusal {
  readonly ok: false
  readonly status: 400 | 403 | 413
  readonly reason: BadInputReason
  readonly message: string
}

/**
 * A transport payload (HTTP body, JSONP `message`, WebSocket frame) as a batch of
 * messages, or why it cannot be one (C01–C05).
 */
export type Envelope = { readonly ok: true, readonly batch: unknown[] } | Refusal

export function refusal (status: Refusal['status'], reason: BadInputReason, message: string): Refusal {
  return { ok: false, status, reason, message }
}

/**
 * Deepest nesting of arrays and objects accepted: far beyond what messages use, far
 * below the few thousand levels at which recursive code (JSON.stringify of an event
 * or a reply) overflows the stack. JSON.parse itself accepts any depth.
 */
export const MAX_NESTING = 256

const NOT_JSON = refusal(400, 'not_json', 'payload is not JSON')
const TOO_DEEP = refusal(400, 'nested_too_deep', `payload nested deeper than ${MAX_NESTING} levels`)
const EMPTY_BATCH = refusal(400, 'not_a_batch', 'empty batch')
const NOT_A_BATCH = refusal(400, 'not_a_batch', 'payload is neither a message nor an array of messages')

/** One JSON text holding a batch or a single message. */
export function parseEnvelope (text: string, maxMessages: number): Envelope {
  const parsed = parsePayload(text)
  return parsed.ok ? toBatch(parsed.value, maxMessages) : parsed
}

/**
 * Several JSON texts (repeated `message` parameters of JSONP or of a form-encoded
 * POST), each a batch or one message, that together form one batch.
 */
export function parseParts (parts: readonly string[], maxMessages: number): Envelope {
  const batch: unknown[] = []
  for (const part of parts) {
    const parsed = parsePayload(part)
    if (!parsed.ok) return parsed
    if (Array.isArray(parsed.value)) batch.push(...parsed.value)
    else batch.push(parsed.value)
  }
  return toBatch(batch, maxMessages)
}

/** A payload's JSON value, or why it cannot be one: not JSON, or nested too deep. */
export function parsePayload (text: string): { ok: true, value: unknown } | Refusal {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return NOT_JSON
  }
  return nestedTooDeep(text) ? TOO_DEEP : { ok: true, value }
}

/** True when JSON `text` nests arrays and objects deeper than MAX_NESTING; brackets inside strings do not count. */
function nestedTooDeep (text: string): boolean {
  // Valid JSON needs two characters per level: short texts cannot be too deep.
  if (text.length <= 2 * MAX_NESTING) return false
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (inString) {
      if (code === 0x5c) i++
      else if (code === 0x22) inString = false
    } else if (code === 0x22) {
      inString = true
    } else if (code === 0x5b || code === 0x7b) {
      if (++depth > MAX_NESTING) return true
    } else if (code === 0x5d || code === 0x7d) {
      depth--
    }
  }
  return false
}

/** A JSON value as a batch: an array of messages, or one message object (C02). */
function toBatch (value: unknown, maxMessages: number): Envelope {
  if (Array.isArray(value)) {
    if (value.length === 0) return EMPTY_BATCH
    if (value.length > maxMessages) return refusal(413, 'too_many_messages', `more than ${maxMessages} messages in one payload`)
    return { ok: true, batch: value }
  }
  if (typeof value === 'object' && value !== null) return { ok: true, batch: [value] }
  return NOT_A_BATCH
}
