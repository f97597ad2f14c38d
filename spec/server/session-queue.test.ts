import t from 'tap'
import { SessionQueue } from '../../lib/server/session-queue.ts'
import { OutgoingEvent } from '../../lib/protocol/outgoing-event.ts'

const event = (data: string) => new OutgoingEvent({ channel: '/q', data })

t.test('counts events and their serialized bytes', async t => {
  const queue = new SessionQueue()
  t.equal(queue.length, 0)
  t.equal(queue.bytes, 0)
  const a = event('a')
  const b = event('bbbbbbbbbb')
  queue.push(a)
  queue.push(b)
  t.equal(queue.length, 2)
  t.equal(queue.bytes, a.json.length + b.json.length, 'bytes = the sum of the events\' JSON lengths')
  t.equal(queue.shift(), a, 'shift takes the oldest')
  t.equal(queue.bytes, b.json.length, 'and gives back its bytes')
  t.equal(queue.length, 1)
})

t.test('drain takes everything in FIFO order and resets the accounting (C70)', async t => {
  const queue = new SessionQueue()
  const pushed = ['1', '2', '3', '4'].map(event)
  for (const e of pushed) queue.push(e)
  const drained = queue.drain()
  t.same(drained, pushed)
  t.ok(drained.every((e, i) => e === pushed[i]), 'the same Event objects')
  t.equal(queue.length, 0)
  t.equal(queue.bytes, 0)
  t.same(queue.drain(), [], 'draining an empty queue')
  queue.push(pushed[0]!)
  t.equal(drained.length, 4, 'a drained array is not touched by later pushes')
  t.equal(queue.bytes, pushed[0]!.json.length)
})

t.test('shift on an empty queue', async t => {
  const queue = new SessionQueue()
  t.equal(queue.shift(), undefined)
  t.equal(queue.bytes, 0, 'bytes never go negative')
})

t.test('isOver: count limit, counting the events about to be added', async t => {
  const queue = new SessionQueue()
  const limits = { maxQueue: 2, maxQueueBytes: 1_000_000 }
  t.equal(queue.isOver(limits), false)
  queue.push(event('1'))
  queue.push(event('2'))
  t.equal(queue.isOver(limits), false, 'exactly at the limit is not over')
  t.equal(queue.isOver(limits, 1), true, 'one more would be')
  queue.shift()
  t.equal(queue.isOver(limits, 1), false)
  t.equal(queue.isOver(limits, 2), true, 'extra counts several pending events (unacked ones)')
})

t.test('isOver: byte limit', async t => {
  const queue = new SessionQueue()
  const e = event('x'.repeat(100))
  const limits = { maxQueue: 1_000, maxQueueBytes: e.size * 2 }
  queue.push(e)
  queue.push(e)
  t.equal(queue.isOver(limits), false, 'exactly at the byte limit is not over')
  queue.push(event('y'))
  t.equal(queue.isOver(limits), true, 'one byte-carrying event more is')
  queue.drain()
  t.equal(queue.isOver(limits), false, 'drained: under again')
})
