// What differs between a recording and a replay and must be substituted: the clientIds the server
// issued, the ack batch numbers it counted, cookies, the client clock sent in timesync, and the
// replay ids a subscribe resumes from (docs/replay.md): the id the server gave, in this replay,
// to the event that had the recorded id. A client acknowledges the last batch it actually
// received (§6.2), whatever the recording said.
import type { Message } from '../trace.ts'
import { setCookiePairs } from '../wire.ts'

/** The replay id the server gave in this replay to the event recorded with `recorded`, once it arrived. */
export type ReplayIdLookup = (recorded: number) => number | undefined

export class ClientBindings {
  #clientIds = new Map<string, string>()
  #lastAck = new Map<string, number>()
  #cookies = new Map<string, string>()
  #replayId: ReplayIdLookup

  constructor (replayId: ReplayIdLookup = () => undefined) {
    this.#replayId = replayId
  }

  /** The recorded request messages rewritten for this replay. */
  substitute (messages: Message[]): Message[] {
    return messages.map(recorded => {
      const message: Message = structuredClone(recorded)
      if (typeof message.clientId === 'string') message.clientId = this.clientId(message.clientId)
      const ack = message.ext?.ack
      if (message.channel === '/meta/connect' && typeof ack === 'number' && message.ext !== undefined) message.ext.ack = this.lastAck(message.clientId)
      const timesync = message.ext?.timesync as Record<string, unknown> | undefined
      if (timesync !== undefined && typeof timesync.tc === 'number') timesync.tc = Date.now()
      const replay = message.ext?.replay
      if (message.channel === '/meta/subscribe' && typeof replay === 'object' && replay !== null) {
        for (const [channel, id] of Object.entries(replay)) {
          if (typeof id === 'number' && id > 0) (replay as Record<string, number>)[channel] = this.#replayId(id) ?? id
        }
      }
      return message
    })
  }

  /** Learns from a reply the client saw: the recorded value now stands for the actual one. */
  learn (recorded: Message, actual: Message): void {
    if (recorded.channel === '/meta/handshake' && typeof recorded.clientId === 'string' && typeof actual.clientId === 'string') {
      this.#clientIds.set(recorded.clientId, actual.clientId)
    }
  }

  /** Takes note of the ack batch in a connect reply the client saw. */
  received (clientId: string | undefined, reply: Message): void {
    const ack = reply.ext?.ack
    if (clientId !== undefined && reply.channel === '/meta/connect' && typeof ack === 'number') this.#lastAck.set(clientId, ack)
  }

  lastAck (clientId: string | undefined): number {
    return clientId === undefined ? 0 : this.#lastAck.get(clientId) ?? 0
  }

  /** The actual clientId standing for a recorded one. */
  clientId (recorded: string | undefined): string | undefined {
    return recorded === undefined ? undefined : this.#clientIds.get(recorded) ?? recorded
  }

  storeCookies (setCookie: string | string[] | undefined): void {
    for (const [name, value] of setCookiePairs(setCookie)) this.#cookies.set(name, value)
  }

  cookieHeader (): string | undefined {
    if (this.#cookies.size === 0) return undefined
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }
}
