import t from 'tap'
import { AckLedger } from '../../lib/server/ack.ts'
import { OutgoingEvent } from '../../lib/protocol/outgoing-event.ts'

const events = (...data: number[]) => data.map(n => new OutgoingEvent({ channel: '/a', data: n }))
const dataOf = (sent: { events: OutgoingEvent[] }) => sent.events.map(event => (event.message as { data: unknown }).data)

t.test('batch numbers start at 1 and increase by one per connect reply (C96)', async t => {
  const ledger = new AckLedger()
  t.same([ledger.send([]).batch, ledger.send(events(1)).batch, ledger.send([]).batch], [1, 2, 3])
})

t.test('unacknowledged events are re-sent first, in order (C97)', async t => {
  const ledger = new AckLedger()
  const first = ledger.send(events(1, 2))
  t.same(dataOf(first), [1, 2])
  t.equal(first.batch, 1)
  const second = ledger.send(events(3))
  t.same(dataOf(second), [1, 2, 3], 'batch 1 was not acknowledged: re-sent ahead of the new event')
  t.equal(ledger.pending, 3)
  const [one, two] = first.events
  t.equal(second.events[0], one, 'the very same Event objects are re-sent')
  t.equal(second.events[1], two)
})

t.test('acknowledge drops the events of every batch up to and including n', async t => {
  const ledger = new AckLedger()
  ledger.send(events(1)) // batch 1
  ledger.send(events(2, 3)) // batch 2
  ledger.send(events(4)) // batch 3
  t.equal(ledger.acknowledge(0), false, 'nothing acknowledged')
  t.equal(ledger.pending, 4, 'ack 0 (first connect after handshake) drops nothing')
  t.equal(ledger.acknowledge(2), true)
  t.equal(ledger.pending, 1)
  t.same(dataOf(ledger.send(events(5))), [4, 5], 'only batch 3 and the new event remain')
  ledger.acknowledge(1)
  t.equal(ledger.pending, 2, 'an old ack drops nothing more')
  ledger.acknowledge(4)
  t.equal(ledger.pending, 0)
  t.same(dataOf(ledger.send([])), [], 'nothing left to re-send')
})

t.test('a ledger carried to another node goes on where it stopped', async t => {
  const ledger = new AckLedger()
  ledger.send(events(1))
  ledger.send(events(2))
  const moved = AckLedger.from(ledger.state)
  t.equal(moved.pending, 2)
  moved.acknowledge(1)
  const next = moved.send(events(3))
  t.equal(next.batch, 3, 'the batch numbers go on')
  t.same(dataOf(next), [2, 3], 'the unacknowledged event first')
  t.same(dataOf(ledger.send([])), [1, 2], 'the original is not changed by its copy')
})

t.test('odd acknowledgements are harmless', async t => {
  const ledger = new AckLedger()
  ledger.send(events(1))
  for (const batch of [Number.NaN, -1, 0.5]) ledger.acknowledge(batch)
  t.equal(ledger.pending, 1, 'NaN, negative and fractional acks below 1 drop nothing')
  ledger.acknowledge(1e9)
  t.equal(ledger.pending, 0, 'an ack beyond the last batch acknowledges everything sent')
  t.equal(ledger.send(events(2)).batch, 2, 'and does not move the batch counter')
})

t.test('dropOldest removes the oldest unacknowledged event (overflow)', async t => {
  const ledger = new AckLedger()
  ledger.send(events(1, 2))
  ledger.send(events(3))
  t.equal(ledger.dropOldest(), true)
  t.equal(ledger.pending, 2)
  ledger.acknowledge(1)
  t.equal(ledger.pending, 1, 'batch stamps stay aligned with their events')
  t.same(dataOf(ledger.send([])), [3])
  ledger.acknowledge(3)
  t.equal(ledger.dropOldest(), false, 'false when nothing is pending')
})
