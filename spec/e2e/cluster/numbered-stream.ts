/**
 * The two sides of the failover tests' stream of numbered messages: CometD subscribers on
 * every transport from Node, with and without the acknowledge extension, and a client
 * that publishes numbers over HTTP, each request waited for.
 */
import { request } from 'undici'
import { Inbox, handshake, newClient, subscribe } from '../clients/cometd.ts'
import type { Transport } from '../clients/cometd.ts'
import type { Teardown } from '../../support/services.ts'

export interface Subscriber { name: string, ack: boolean, inbox: Inbox }

/** A subscriber to `channel` through `url` over long-polling and over WebSocket, each with and without acks. */
export async function subscribeOnEveryTransport (t: Teardown, url: string, channel: string): Promise<Subscriber[]> {
  const subscribers: Subscriber[] = []
  for (const transport of ['long-polling', 'websocket'] as Transport[]) {
    for (const ack of [true, false]) {
      const client = newClient(url, transport, { ack })
      t.teardown(() => client.disconnect())
      await handshake(client)
      const inbox = new Inbox()
      await subscribe(client, channel, inbox.listener)
      subscribers.push({ name: `${transport}${ack ? ' with acks' : ''}`, ack, inbox })
    }
  }
  return subscribers
}

/**
 * The max-interval for nodes that a number publisher talks to: the longest it may go
 * without publishing. It never connects, so only its publishes keep its session (C77),
 * and the failover streams wait while a killed node starts again. That takes seconds;
 * with the whole suite loading a slow 2-core machine, it most likely outlasted the 15 s
 * these tests used to allow once (the next publish failed with 402::session_unknown).
 */
export const PUBLISHER_MAX_INTERVAL = 60_000

export interface NumberPublisher {
  readonly clientId: string
  /** Publishes each of `numbers` to the channel in one request; rejects unless every one succeeded. */
  publish (numbers: number[]): Promise<void>
}

/** A session handshaken on `url` (one node, so that nothing is lost on its way in) publishing to `channel`. */
export async function numberPublisher (url: string, channel: string): Promise<NumberPublisher> {
  let cookie = ''
  const post = async (messages: object[]): Promise<any[]> => {
    const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify(messages) })
    const setCookie = response.headers['set-cookie']
    if (typeof setCookie === 'string') cookie = setCookie.split(';')[0]!
    return await response.body.json() as any[]
  }
  const [reply] = await post([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }])
  const clientId = reply.clientId as string
  return {
    clientId,
    async publish (numbers) {
      const replies = await post(numbers.map(n => ({ channel, clientId, data: n })))
      if (!replies.every(reply => reply.successful === true)) throw new Error(`a publish failed: ${JSON.stringify(replies)}`)
    }
  }
}
