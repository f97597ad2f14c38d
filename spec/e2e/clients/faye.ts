/** The real Faye Node client (faye 1.4), watched and promisified for tests. */
import faye from 'faye'
import type { Inbox, Transport } from './cometd.ts'

/** A Faye client, with a record of what went through it. */
export interface WatchedFaye {
  readonly client: any
  /** The channel of every event the server sent it, also events no local subscription wants. */
  readonly events: string[]
  /** `successful` of each /meta/connect reply, in order. */
  readonly connects: boolean[]
  /** How many handshakes it sent: more than one means the server sent it back to handshake. */
  handshakes: number
  /** How many times Faye took its transport for down: a request failed or went unanswered. */
  downs: number
}

/** A Faye client that only uses `transport`. */
export function newFaye (url: string, transport: Transport): WatchedFaye {
  const client = new faye.Client(url)
  if (transport === 'long-polling') client.disable('websocket')
  const watched: WatchedFaye = { client, events: [], connects: [], handshakes: 0, downs: 0 }
  // A client extension sees every message, also events no local subscription wants.
  client.addExtension({
    outgoing (message: any, callback: (message: any) => void) {
      if (message.channel === '/meta/handshake') watched.handshakes++
      callback(message)
    },
    incoming (message: any, callback: (message: any) => void) {
      if (message.channel === '/meta/connect') watched.connects.push(message.successful)
      else if (message.successful === undefined && message.data !== undefined) watched.events.push(message.channel)
      callback(message)
    }
  })
  client.on('transport:down', () => { watched.downs++ })
  return watched
}

/**
 * Subscribes and waits for the server's reply; `inbox` gets channel and data of each
 * event. Faye's Subscription is a thenable, so it is handed back wrapped.
 */
export async function subscribe (client: any, channel: string, inbox: Inbox): Promise<{ subscription: any }> {
  const subscription = client.subscribe(channel).withChannel((name: string, data: unknown) => inbox.listener({ channel: name, data }))
  await subscription
  return { subscription }
}

/** Resolves to the next message the client receives for which `match` is true. */
export function received (client: any, match: (message: any) => boolean): Promise<any> {
  return new Promise(resolve => {
    const extension = {
      incoming (message: any, callback: (message: any) => void) {
        if (match(message)) {
          client.removeExtension(extension)
          resolve(message)
        }
        callback(message)
      }
    }
    client.addExtension(extension)
  })
}

/** The clientId Faye got in its handshake. */
export function clientIdOf (client: any): string {
  return client._dispatcher.clientId
}

/** Disconnects when connected, and stops the client's timers and sockets in any case. */
export async function closeFaye (client: any): Promise<void> {
  await client.disconnect()?.then(() => {}, () => {})
  client._dispatcher.close()
}
