/** The real CometD JavaScript client (cometd@9 + cometd-nodejs-client), promisified for tests. */
import { adapt } from 'cometd-nodejs-client'
import { AckExtension, CometD } from 'cometd'

adapt()

export type Transport = 'long-polling' | 'websocket'

export interface Delivered { channel: string, data: any }

/** A configured client that only uses `transport`. */
export function newClient (url: string, transport: Transport, { ack = false } = {}): CometD {
  const cometd = new CometD()
  for (const other of cometd.getTransportTypes()) {
    if (other !== transport) cometd.unregisterTransport(other)
  }
  if (ack) cometd.registerExtension('ack', new AckExtension())
  cometd.configure({ url, logLevel: 'warn' })
  return cometd
}

export function handshake (cometd: CometD): Promise<any> {
  return new Promise((resolve, reject) => cometd.handshake((reply: any) => reply.successful ? resolve(reply) : reject(new Error(reply.error ?? 'handshake failed'))))
}

export function subscribe (cometd: CometD, channel: string, listener: (message: Delivered) => void): Promise<any> {
  return new Promise((resolve, reject) => {
    const subscription = cometd.subscribe(channel, message => listener(message as Delivered), (reply: any) => reply.successful ? resolve(subscription) : reject(new Error(reply.error)))
  })
}

export function publish (cometd: CometD, channel: string, data: unknown): Promise<any> {
  return new Promise(resolve => cometd.publish(channel, data, resolve))
}

export function disconnect (cometd: CometD): Promise<any> {
  return new Promise(resolve => cometd.disconnect(resolve))
}

/** Collects what a listener receives, and waits for a count of it. */
export class Inbox {
  readonly messages: Delivered[] = []
  #waiters: Array<{ count: number, resolve: () => void }> = []

  readonly listener = (message: Delivered): void => {
    this.messages.push(message)
    this.#waiters = this.#waiters.filter(w => {
      if (this.messages.length < w.count) return true
      w.resolve()
      return false
    })
  }

  get data (): unknown[] {
    return this.messages.map(m => m.data)
  }

  waitFor (count: number): Promise<void> {
    if (this.messages.length >= count) return Promise.resolve()
    return new Promise(resolve => this.#waiters.push({ count, resolve }))
  }
}

/** Subscribes `subscriber` to a fresh `channel`, publishes `data` there from `publisher`, and waits for the delivery. */
export async function deliversBetween (publisher: CometD, subscriber: CometD, channel: string, data: unknown): Promise<Delivered> {
  const inbox = new Inbox()
  await subscribe(subscriber, channel, inbox.listener)
  await publish(publisher, channel, data)
  await inbox.waitFor(1)
  return inbox.messages[0]!
}
