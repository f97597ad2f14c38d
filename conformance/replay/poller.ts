// Keeps a connect outstanding for a client whose recorded connect was answered later than in the
// replay (e.g. released here by an event, there by the client's disconnect). The recorded client
// would have connected again at once; without this, events queued meanwhile would wait for a
// connect that never comes.
import type { Message } from '../trace.ts'
import { isReply } from '../wire.ts'
import type { ClientBindings } from './bindings.ts'

const MAX_POLLS = 20

export type SendConnect = (messages: Message[]) => Promise<Message[] | null>

export class ConnectPoller {
  #stopped = false
  #running: Promise<void>

  constructor (send: SendConnect, template: Message, bindings: ClientBindings, onDelivered: (messages: Message[]) => void) {
    this.#running = this.#loop(send, template, bindings, onDelivered)
  }

  stop (): void {
    this.#stopped = true
  }

  /** Resolves when the last synthetic connect has been answered. */
  get settled (): Promise<void> {
    return this.#running
  }

  async #loop (send: SendConnect, template: Message, bindings: ClientBindings, onDelivered: (messages: Message[]) => void): Promise<void> {
    for (let n = 1; !this.#stopped && n <= MAX_POLLS; n++) {
      const connect: Message = { id: `p${n}`, channel: '/meta/connect', connectionType: template.connectionType, clientId: template.clientId }
      if (typeof template.ext?.ack === 'number') connect.ext = { ack: bindings.lastAck(template.clientId) }
      const answer = await send([connect]).catch(() => null)
      if (answer === null) return
      onDelivered(answer.filter(m => !isReply(m)))
      const reply = answer.find(m => m.id === connect.id)
      if (reply === undefined) return
      bindings.received(template.clientId, reply)
      if (reply.successful !== true || reply.advice?.reconnect === 'none') return
    }
  }
}
