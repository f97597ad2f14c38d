/** The real Faye Node client (faye 1.4), with the helpers its tests share. */
import faye from 'faye'
import type { Inbox, Transport } from './cometd.ts'

/** A Faye client that only uses `transport`, with a record of every event it receives. */
export function newFaye (url: string, transport: Transport): { client: any, events: string[] } {
  const client = new faye.Client(url)
  if (transport === 'long-polling') client.disable('websocket')
  const events: string[] = []
  // A client extension sees every incoming message, also events no local subscription wants.
  client.addExtension({
    incoming (message: any, callback: (message: any) => void) {
      if (message.successful === undefined && message.data !== undefined) events.push(message.channel)
      callback(message)
    }
  })
  return { client, events }
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

/** The clientId Faye got in its handshake. */
export function clientIdOf (client: any): string {
  return client._dispatcher.clientId
}

/** Disconnects when connected, and stops the client's timers and sockets in any case. */
export async function closeFaye (client: any): Promise<void> {
  await client.disconnect()?.then(() => {}, () => {})
  client._dispatcher.close()
}
