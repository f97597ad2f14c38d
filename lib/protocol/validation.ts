/**
 * Validation of incoming messages with one compiled ajv schema (compiled once, at
 * import). A message that fails gets the Bayeux error of the field at fault rather
 * than failing its whole batch (C06, C07, C08, C46).
 */
import { Ajv } from 'ajv'
import type { Message } from './message.ts'
import * as errors from './wire-errors.ts'

const stringArray = { type: 'array', items: { type: 'string' } }

const messageSchema = {
  type: 'object',
  required: ['channel'],
  properties: {
    channel: { type: 'string' },
    // CometD validates ids as alphanumeric (C08); every real client sends such strings.
    id: { type: 'string', pattern: '^[A-Za-z0-9]{1,64}$' },
    // Its length is checked by checkMessage.
    clientId: { type: 'string' },
    subscription: { anyOf: [{ type: 'string' }, { ...stringArray, minItems: 1 }] },
    ext: { type: 'object' },
    advice: {
      type: 'object',
      properties: {
        timeout: { type: 'number' },
        interval: { type: 'number' }
      }
    },
    connectionType: { type: 'string' },
    supportedConnectionTypes: stringArray
  }
} as const

const ajv = new Ajv({ allErrors: false, strict: true })
const validateMessage = ajv.compile<Message>(messageSchema)

/** The Bayeux error for a field at fault, in the order clients would care about. */
const FIELD_ERRORS: Record<string, string> = {
  channel: errors.CHANNEL_INVALID,
  id: errors.MESSAGE_ID_INVALID,
  subscription: errors.SUBSCRIPTION_INVALID,
  clientId: errors.SESSION_UNKNOWN
}

export type Checked =
  | { ok: true, message: Message }
  | { ok: false, error: string, channel?: string, id?: string }

/**
 * The longest clientId taken (ours have 40 characters), in UTF-16 code units. Checked by
 * hand: a schema's maxLength counts code points, walking the string, on every message.
 */
const MAX_CLIENT_ID = 128

/** Checks one element of a batch; never throws. */
export function checkMessage (value: unknown): Checked {
  if (validateMessage(value)) {
    return (value.clientId?.length ?? 0) <= MAX_CLIENT_ID ? { ok: true, message: value } : refused(value, 'clientId', false)
  }
  const failure = validateMessage.errors![0]!
  const missing = failure.keyword === 'required'
  return refused(value, missing ? String(failure.params['missingProperty']) : failure.instancePath.split('/')[1] ?? '', missing)
}

/** The failure of a message whose `field` is wrong, or `missing`. */
function refused (value: unknown, field: string, missing: boolean): Checked {
  const error = field === 'channel' && missing
    ? errors.CHANNEL_MISSING
    : FIELD_ERRORS[field] ?? errors.fieldInvalid(field || 'message')
  // Echo what can be echoed safely so the client can match the failure to its request.
  const echo = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>
  const channel = typeof echo['channel'] === 'string' ? echo['channel'] : undefined
  const id = typeof echo['id'] === 'string' && field !== 'id' ? echo['id'] : undefined
  return { ok: false, error, ...(channel !== undefined && { channel }), ...(id !== undefined && { id }) }
}
