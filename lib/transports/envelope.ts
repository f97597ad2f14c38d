/**
 * Turns a transport payload (HTTP body, JSONP `message`, WebSocket frame) into a
 * batch of messages, or says why it cannot (C01–C05).
 */
export type Envelope =
  | { ok: true, batch: unknown[] }
  | { ok: false, status: 400 | 413, reason: string }

export function parseEnvelope (text: string, maxMessages: number): Envelope {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, status: 400, reason: 'payload is not JSON' }
  }
  return toBatch(value, maxMessages)
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
