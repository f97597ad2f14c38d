// The acknowledge extension: negotiation, batch numbers, redelivery of lost events (§6.2).
import { isReply } from '../wire.ts'
import { connectedClient } from './publish.ts'
import { expect, type Scenario, type ScenarioContext } from './scenario.ts'

const ACK = { ack: true }

/** A, with acks, subscribed to a fresh channel; B, without acks, to publish on it. */
async function ackedSubscriber (s: ScenarioContext) {
  const a = await connectedClient(s, 'A', ACK)
  const b = await connectedClient(s, 'B')
  const feed = s.channel('feed')
  await a.subscribe(feed)
  // Let A's next connect be held before anything is published to it.
  await s.sleep(200)
  return { a, b, feed }
}

export const ackScenarios: Scenario[] = [
  {
    name: 'ack-negotiation',
    description: 'ext.ack:true in the handshake is answered with ext.ack:true; connect replies carry increasing batch numbers.',
    checklist: ['C14', 'C95', 'C96'],
    async run (s) {
      const a = await s.client('A', ACK)
      const handshake = await a.handshake()
      expect(handshake.ext?.ack === true, 'server supports acks', handshake)
      await a.connected()
      const feed = s.channel('feed')
      await a.subscribe(feed)
      await a.publish(feed, 1)
      await a.received(feed, 1)
      await a.publish(feed, 2)
      await a.received(feed, 2)
      await a.disconnect()
    }
  },
  {
    name: 'ack-delivery-to-other-client',
    description: 'With acks on, events for A travel on its connect replies, in order.',
    checklist: ['C70', 'C96'],
    async run (s) {
      const { a, b, feed } = await ackedSubscriber(s)
      for (const n of [1, 2, 3]) await b.publish(feed, n)
      expect((await a.received(feed, 3)).map(m => m.data).join() === '1,2,3', 'in order')
      await b.disconnect()
      await a.disconnect()
    }
  },
  {
    name: 'ack-redelivery',
    description: 'A connect reply carrying an event is lost; the client reconnects with the old ack and the event is sent again.',
    checklist: ['C96', 'C97'],
    transports: ['long-polling', 'callback-polling'],
    async run (s) {
      const { a, b, feed } = await ackedSubscriber(s)
      const lost = s.dropResponse('A', (_request, response) => response.some(m => !isReply(m) && m.channel === feed))
      await b.publish(feed, 'must survive')
      await lost
      expect((await a.received(feed, 1))[0]?.data === 'must survive', 'redelivered')
      await b.disconnect()
      await a.disconnect()
    }
  },
  {
    name: 'ack-redelivery-order',
    description: 'Two lost events are re-sent before a newer one, in their original order.',
    checklist: ['C70', 'C97'],
    transports: ['long-polling', 'callback-polling'],
    async run (s) {
      const { a, b, feed } = await ackedSubscriber(s)
      const lost = s.dropResponse('A', (_request, response) => response.some(m => !isReply(m) && m.channel === feed))
      const partitioned = s.partition('A')
      await b.batch([{ op: 'publish', channel: feed, data: 1 }, { op: 'publish', channel: feed, data: 2 }])
      await lost
      await b.publish(feed, 3)
      await s.sleep(100)
      partitioned()
      expect((await a.received(feed, 3)).map(m => m.data).join() === '1,2,3', 'original order', await a.received(feed, 0))
      await b.disconnect()
      await a.disconnect()
    }
  }
]
