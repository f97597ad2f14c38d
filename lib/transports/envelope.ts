/**
 * Turns a transport payload (HTTP body, JSONP `message`, WebSocket frame) into a
 * batch of messages, or says why it cannot (C01–C05).
 */
export type Envelope =
  | { ok: true, batch: unknown[] }
  | { ok: false, status: 400 | 413, reason: string }

export function parseEnvelope (text: string, maxMessages: number): Envelope {
  const parsed = parsePayload(text)
  return parsed.ok ? toBatch(parsed.value, maxMessages) : parsed
}

/** A payload's JSON value, or why it cannot be one: not JSON, or nested too deep. */
export function parsePayload (text: string): { ok: true, value: unknown } | Extract<Envelope, { ok: false }> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, status: 400, reason: 'payload is not JSON' }
  }
  return nestedTooDeep(text) ? TOO_DEEP : { ok: true, value }
}

/**
 * Deepest nesting of arrays and objects accepted: far beyond what messages use, far
 * below the few thousand levels at which recursive code (JSON.stringify of an event
 * or a reply) overflows the stack. JSON.parse itself accepts any depth.
 */
export const MAX_NESTING = 256

export const TOO_DEEP: Extract<Envelope, { ok: false }> = { ok: false, status: 400, reason: `payload nested deeper than ${MAX_NESTING} levels` }

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
export function toBatch (value: unknown, maxMessages: number): Envelope {
  if (Array.isArray(value)) {
    if (value.length === 0) return { ok: false, status: 400, reason: 'empty batch' }
    if (value.length > maxMessages) return { ok: false, status: 413, reason: `more than ${maxMessages} messages in one payload` }
    return { ok: true, batch: value }
  }
  if (typeof value === 'object' && value !== null) return { ok: true, batch: [value] }
  return { ok: false, status: 400, reason: 'payload is neither a message nor an array of messages' }
}
