import { monotonicMicros } from './clock.ts'

/** The `data` of every benchmark message: publisher id, per-(publisher, channel) sequence, send time. */
export interface Payload {
  p: number
  s: number
  t: number
  x?: string
}

/** Builds payloads whose JSON form is about `targetBytes` long, as the reference scenario asks. */
export class PayloadFactory {
  #publisher: number
  #targetBytes: number

  constructor (publisher: number, targetBytes: number) {
    this.#publisher = publisher
    this.#targetBytes = targetBytes
  }

  create (sequence: number): Payload {
    const payload: Payload = { p: this.#publisher, s: sequence, t: Math.round(monotonicMicros()) }
    const padding = this.#targetBytes - JSON.stringify(payload).length - ',"x":""'.length
    if (padding > 0) payload.x = 'x'.repeat(padding)
    return payload
  }
}
