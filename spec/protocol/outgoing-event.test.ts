import t from 'tap'
import { OutgoingEvent, serializeBatch } from '../../lib/protocol/outgoing-event.ts'
import type { Reply } from '../../lib/protocol/message.ts'

t.test('an OutgoingEvent serializes its message once', async t => {
  const message = { channel: '/chat', data: { text: 'héllo "quoted"' }, ext: { n: 1 } }
  const event = new OutgoingEvent(message)
  t.equal(event.channel, '/chat')
  const json = event.json
  t.same(JSON.parse(json), message, 'the JSON is the message')
  message.data.text = 'changed after the first serialization'
  t.equal(event.json, json, 'later reads return the cached string, not a new serialization')
  t.equal(event.size, json.length, 'size counts the serialized form')
})

t.test('serializeBatch puts events first, then replies (A14, C83)', async t => {
  const events = [new OutgoingEvent({ channel: '/a', data: 1 }), new OutgoingEvent({ channel: '/b', data: 2 })]
  const replies: Reply[] = [
    { channel: '/meta/subscribe', id: '3', successful: true, subscription: '/a' },
    { channel: '/meta/connect', id: '4', successful: true, advice: { reconnect: 'retry', interval: 0, timeout: 0 } }
  ]
  const batch = serializeBatch(events, replies)
  t.same(JSON.parse(batch), [events[0]!.message, events[1]!.message, ...replies], 'events in order, then replies in order')
  t.ok(batch.startsWith(`[${events[0]!.json},${events[1]!.json},`), 'events go out as their cached JSON')
})

t.test('serializeBatch with only events, only replies, or nothing', async t => {
  const event = new OutgoingEvent({ channel: '/a', data: null })
  const reply: Reply = { channel: '/meta/connect', id: '1', successful: true }
  t.equal(serializeBatch([event], []), `[${event.json}]`)
  t.equal(serializeBatch([], [reply]), `[${JSON.stringify(reply)}]`)
  t.equal(serializeBatch([], []), '[]')
})

t.test('one OutgoingEvent written into many batches is serialized once', async t => {
  let serializations = 0
  const data = { toJSON: () => { serializations++; return { headline: 'news' } } }
  const event = new OutgoingEvent({ channel: '/news', data })
  const batches = Array.from({ length: 5 }, (_, i) => serializeBatch([event], [{ channel: '/meta/connect', id: String(i), successful: true }]))
  t.equal(serializations, 1, 'JSON computed once for five batches')
  t.equal(event.size, event.json.length)
  t.equal(serializations, 1, 'size and json reuse it too')
  for (const batch of batches) t.same(JSON.parse(batch)[0], { channel: '/news', data: { headline: 'news' } })
})

t.test('an event alone is encoded once, however many sockets it is written to', async t => {
  const event = new OutgoingEvent({ channel: '/news', data: 'héllo' })
  const encoded: string[] = []
  const encode = (payload: string): Buffer => {
    encoded.push(payload)
    return Buffer.from(payload)
  }
  const first = event.alone(encode)
  t.equal(event.alone(encode), first, 'the same buffer again')
  t.same(encoded, [`[${event.json}]`], 'encoded once, as a one-event payload')
})
