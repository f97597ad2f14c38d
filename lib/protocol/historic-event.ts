import { BayeuxServerError } from '../errors.ts'
import type { EventMessage } from './message.ts'
import { OutgoingEvent } from './outgoing-event.ts'

/**
 * Where the events of a channel that keeps history carry their replay id
 * (docs/replay.md): in `ext.replay.id`, the data unchanged, or in Salesforce's
 * envelope, `{ event: { createdDate, replayId }, payload: <data> }`.
 */
export type ReplayForm = 'ext' | 'envelope'

/**
 * A broadcast on a channel that keeps history, before the engine gives it its replay
 * id. Its JSON is made once, in two parts around the place of the id, so that
 * stamping it costs a concatenation, whether in this process or in a Redis script.
 */
export class HistoricEvent {
  readonly channel: string
  /** The JSON of the stamped event is `head` + id + `tail`. */
  readonly head: string
  readonly tail: string
  readonly #message: EventMessage
  readonly #form: ReplayForm
  readonly #createdDate: string

  /** Throws BAYEUX_ERR_INVALID_DATA when the event cannot become JSON, before it is given an id. */
  constructor (message: EventMessage, form: ReplayForm, time: number = Date.now()) {
    this.channel = message.channel
    this.#message = message
    this.#form = form
    this.#createdDate = new Date(time).toISOString()
    try {
      const channel = JSON.stringify(message.channel)
      const data = JSON.stringify(message.data) ?? 'null'
      if (form === 'envelope') {
        this.head = `{"channel":${channel},"data":{"event":{"createdDate":"${this.#createdDate}","replayId":`
        this.tail = `},"payload":${data}}${message.ext === undefined ? '' : `,"ext":${JSON.stringify(message.ext)}`}}`
      } else {
        const { replay, ...others } = message.ext ?? {}
        const members = JSON.stringify(others).slice(1, -1)
        this.head = `{"channel":${channel},"data":${data},"ext":{${members}${members === '' ? '' : ','}"replay":{"id":`
        this.tail = '}}}'
      }
    } catch (error) {
      throw new BayeuxServerError('BAYEUX_ERR_INVALID_DATA', `Cannot send to ${message.channel}: ${(error as Error).message}`, { cause: error })
    }
  }

  /** The event as subscribers get it, with its replay id. */
  stamp (replayId: number): OutgoingEvent {
    return OutgoingEvent.serialized(this.message(replayId), this.head + String(replayId) + this.tail, replayId)
  }

  /** The event as subscribers get it, as an object. */
  message (replayId: number): EventMessage {
    const { channel, data, ext } = this.#message
    if (this.#form === 'envelope') {
      return { channel, data: { event: { createdDate: this.#createdDate, replayId }, payload: data ?? null }, ...(ext !== undefined && { ext }) }
    }
    const { replay, ...others } = ext ?? {}
    return { channel, data, ext: { ...others, replay: { id: replayId } } }
  }
}
