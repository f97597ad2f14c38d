// Publishing and delivery between one, two and many clients.
import type { Client } from './harness.ts'
import { expect, succeeded, type Scenario, type ScenarioContext } from './scenario.ts'

/** A handshaken client whose first connect succeeded. */
export async function connectedClient (s: ScenarioContext, label: string, features = {}): Promise<Client> {
  const client = await s.client(label, features)
  succeeded(await client.handshake(), `handshake of ${label}`)
  await client.connected()
  return client
}

export const publishScenarios: Scenario[] = [
  {
    name: 'publish-to-self',
    description: 'A subscribed publisher receives its own event; the ack carries no data.',
    checklist: ['C53', 'C54', 'C55', 'C56', 'C57', 'C59'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const chat = s.channel('chat')
      succeeded(await a.subscribe(chat), 'subscribe')
      succeeded(await a.publish(chat, { text: 'hello' }), 'publish')
      await a.received(chat, 1)
      await a.disconnect()
    }
  },
  {
    name: 'publish-two-clients',
    description: 'An event from B reaches A, releasing the connect A has held meanwhile.',
    checklist: ['C33', 'C53', 'C55', 'C56', 'C57', 'C92'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const b = await connectedClient(s, 'B')
      const chat = s.channel('chat')
      await a.subscribe(chat)
      await s.sleep(300)
      succeeded(await b.publish(chat, { from: 'B', n: 1 }), 'publish')
      await a.received(chat, 1)
      await b.disconnect()
      await a.disconnect()
    }
  },
  {
    name: 'publish-many-clients',
    description: 'Five subscribers each receive every event of a sixth client, in order.',
    checklist: ['C53', 'C55', 'C70'],
    async run (s) {
      const channel = s.channel('room')
      const subscribers: Client[] = []
      for (const label of ['A', 'B', 'C', 'D', 'E']) {
        const client = await connectedClient(s, label)
        await client.subscribe(channel)
        subscribers.push(client)
      }
      const publisher = await connectedClient(s, 'F')
      for (let n = 1; n <= 3; n++) succeeded(await publisher.publish(channel, { n }), `publish ${n}`)
      for (const client of subscribers) expect((await client.received(channel, 3)).map(m => m.data.n).join() === '1,2,3', 'events in order')
      for (const client of [publisher, ...subscribers]) await client.disconnect()
    }
  },
  {
    name: 'publish-without-subscribers',
    description: 'Publishing to a channel nobody listens to is acknowledged all the same.',
    checklist: ['C53', 'C54'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      succeeded(await a.publish(s.channel('void'), 'nobody listens'), 'publish')
      await a.disconnect()
    }
  },
  {
    name: 'publish-ext-preserved',
    description: "The publisher's ext travels with the event to the subscriber.",
    checklist: ['C58', 'C99'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const b = await connectedClient(s, 'B')
      const news = s.channel('news')
      await a.subscribe(news)
      await b.publish(news, { headline: 'ext' }, { ext: { origin: { app: 'conformance', rev: 3 } } })
      const [event] = await a.received(news, 1)
      expect(event?.ext?.origin?.app === 'conformance', 'ext preserved', event)
      await b.disconnect()
      await a.disconnect()
    }
  },
  {
    name: 'publish-fifo-order',
    description: 'Ten events published back to back arrive in publishing order.',
    checklist: ['C70'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const b = await connectedClient(s, 'B')
      const ticks = s.channel('ticks')
      await a.subscribe(ticks)
      await Promise.all(Array.from({ length: 10 }, (_, n) => b.publish(ticks, n)))
      const events = await a.received(ticks, 10)
      expect(events.map(m => m.data).join() === '0,1,2,3,4,5,6,7,8,9', 'FIFO order', events.map(m => m.data))
      await b.disconnect()
      await a.disconnect()
    }
  },
  {
    name: 'publish-data-types',
    description: 'Strings, numbers, booleans, null, arrays, nested objects and non-ASCII text arrive unchanged.',
    checklist: ['C55'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const b = await connectedClient(s, 'B')
      const data = s.channel('data')
      await a.subscribe(data)
      const values = ['text', 42, 3.5, true, null, [1, 'two', { three: 3 }], { nested: { deep: [null, false] } }, 'héllo wörld ✓ 漢字']
      for (const value of values) await b.publish(data, value)
      await a.received(data, values.length)
      await b.disconnect()
      await a.disconnect()
    }
  },
  {
    name: 'events-queued-while-away',
    description: 'Events for a client whose next connect is late are queued and delivered at once when it arrives.',
    checklist: ['C32', 'C70', 'C78'],
    transports: ['long-polling', 'callback-polling'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const b = await connectedClient(s, 'B')
      const inbox = s.channel('inbox')
      await a.subscribe(inbox)
      await s.sleep(200)
      await b.publish(inbox, 'first')
      await a.received(inbox, 1)
      const release = s.partition('A')
      await s.sleep(200)
      await b.publish(inbox, 'second')
      await b.publish(inbox, 'third')
      await s.sleep(300)
      release()
      expect((await a.received(inbox, 3)).map(m => m.data).join() === 'first,second,third', 'queued events in order')
      await b.disconnect()
      await a.disconnect()
    }
  }
]
