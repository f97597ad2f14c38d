// Several messages in one transport payload (startBatch/endBatch).
import { connectedClient } from './publish.ts'
import { expect, type Scenario } from './scenario.ts'

export const batchingScenarios: Scenario[] = [
  {
    name: 'batch-subscribe-publish',
    description: 'Two subscribes and two publishes sent in one batch are answered message by message.',
    checklist: ['C01', 'C53', 'C59', 'C83'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const [x, y] = [s.channel('x'), s.channel('y')]
      const replies = await a.batch([
        { op: 'subscribe', channel: x },
        { op: 'subscribe', channel: y },
        { op: 'publish', channel: x, data: 'to x' },
        { op: 'publish', channel: y, data: 'to y' }
      ])
      expect(replies.every(r => r.successful === true), 'all succeeded', replies)
      await a.received(x, 1)
      await a.received(y, 1)
      await a.disconnect()
    }
  },
  {
    name: 'batch-publishes-to-other-client',
    description: 'Five publishes batched by B reach A in order.',
    checklist: ['C01', 'C70'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const b = await connectedClient(s, 'B')
      const feed = s.channel('feed')
      await a.subscribe(feed)
      await b.batch([1, 2, 3, 4, 5].map(n => ({ op: 'publish' as const, channel: feed, data: { n } })))
      expect((await a.received(feed, 5)).map(m => m.data.n).join() === '1,2,3,4,5', 'in order')
      await b.disconnect()
      await a.disconnect()
    }
  },
  {
    name: 'batch-unsubscribe-and-publish',
    description: 'An unsubscribe batched before a publish stops delivery of that publish.',
    checklist: ['C01', 'C51'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const [gone, kept] = [s.channel('gone'), s.channel('kept')]
      await a.subscribe(gone)
      await a.subscribe(kept)
      await a.batch([
        { op: 'unsubscribe', channel: gone },
        { op: 'publish', channel: gone, data: 'unseen' },
        { op: 'publish', channel: kept, data: 'seen' }
      ])
      await a.received(kept, 1)
      await a.disconnect()
    }
  }
]
