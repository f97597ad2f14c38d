import { BayeuxServerError } from '../errors.ts'
import type { EventMessage, Reply } from './message.ts'

/**
 * One message on its way to clients. It is serialized at most once, however many
 * sessions receive it: every queue holds the same OutgoingEvent.
 */
export class OutgoingEvent {
  readonly message: EventMessage | Reply
  /** The event's id in its channel's history (docs/replay.md); undefined on channels that keep none. */
  readonly replayId: number | undefined
  #json: string | undefined
  #alone: Buffer | undefined

  /** `message` is a broadcast event, or a message the server sends unasked (a disconnect). */
  constructor (message: EventMessage | Reply, replayId?: number) {
    this.message = message
    this.replayId = replayId
  }

  /**
   * An event serialized now, so data that cannot become JSON (a cycle, a BigInt)
   * fails here with BAYEUX_ERR_INVALID_DATA, before any subscriber is reached.
   */
  static of (message: EventMessage | Reply): OutgoingEvent {
    const event = new OutgoingEvent(message)
    try {
      void event.json
    } catch (error) {
      throw new BayeuxServerError('BAYEUX_ERR_INVALID_DATA', `Cannot send to ${message.channel}: ${(error as Error).message}`, { cause: error })
    }
    return event
  }

  /** An event that arrived serialized (from another node, or from history): it keeps its JSON as it came. */
  static fromJSON (json: string, replayId?: number): OutgoingEvent {
    return OutgoingEvent.serialized(JSON.parse(json) as EventMessage, json, replayId)
  }

  /** An event whose JSON is already made: `json` must be `message` serialized. */
  static serialized (message: EventMessage, json: string, replayId?: number): OutgoingEvent {
    const event = new OutgoingEvent(message, replayId)
    event.#json = json
    return event
  }

  get channel (): string {
    return this.message.channel
  }

  get json (): string {
    return (this.#json ??= JSON.stringify(this.message))
  }

  /**
   * This event alone as a payload (`[event]`), encoded by `encode` once however many
   * sessions receive it: the WebSocket transport's frame, which a fan-out writes to every
   * subscriber's socket as is. Only that transport encodes events alone: the first
   * encoding is the one kept.
   */
  alone (encode: (payload: string) => Buffer): Buffer {
    return (this.#alone ??= encode(`[${this.json}]`))
  }

  /** Serialized size in UTF-16 code units: cheap, and what queue byte limits count. */
  get size (): number {
    return this.json.length
  }
}

/** The JSON array for one transport payload: events first, then replies (A14, C83). */
export function serializeBatch (events: readonly OutgoingEvent[], replies: readonly Reply[]): string {
  // Replies alone (most connect answers) in one call: no pieces joined and flattened.
  if (events.length === 0) return JSON.stringify(replies)
  let out = '['
  for (const event of events) out += (out.length > 1 ? ',' : '') + event.json
  for (const reply of replies) out += (out.length > 1 ? ',' : '') + JSON.stringify(reply)
  return out + ']'
}
