// What differs between a recording and a replay and must be substituted: the clientIds the server
// issued, the ack batch numbers it counted, cookies, and the client clock sent in timesync.
import type { Message } from '../trace.ts'
import { setCookiePairs } from '../wire.ts'

export class ClientBindings {
  #clientIds = new Map<string, string>()
  #ackBatches = new Map<number, number>()
  #cookies = new Map<string, string>()

  /** The recorded request messages rewritten for this replay. */
  substitute (messages: Message[]): Message[] {
    return messages.map(recorded => {
      const message: Message = structuredClone(recorded)
      if (typeof message.clientId === 'string') message.clientId = this.#clientIds.get(message.clientId) ?? message.clientId
      const ack = message.ext?.ack
      if (message.channel === '/meta/connect' && typeof ack === 'number' && message.ext !== undefined) message.ext.ack = this.#ackBatches.get(ack) ?? ack
      const timesync = message.ext?.timesync as Record<string, unknown> | undefined
      if (timesync !== undefined && typeof timesync.tc === 'number') timesync.tc = Date.now()
      return message
    })
  }

  /** Learns from a reply the client saw: the recorded value now stands for the actual one. */
  learn (recorded: Message, actual: Message): void {
    if (recorded.channel === '/meta/handshake' && typeof recorded.clientId === 'string' && typeof actual.clientId === 'string') {
      this.#clientIds.set(recorded.clientId, actual.clientId)
    }
    const recordedAck = recorded.ext?.ack
    const actualAck = actual.ext?.ack
    if (recorded.channel === '/meta/connect' && typeof recordedAck === 'number' && typeof actualAck === 'number') {
      this.#ackBatches.set(recordedAck, actualAck)
    }
  }

  storeCookies (setCookie: string | string[] | undefined): void {
    for (const [name, value] of setCookiePairs(setCookie)) this.#cookies.set(name, value)
  }

  cookieHeader (): string | undefined {
    if (this.#cookies.size === 0) return undefined
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }
}
