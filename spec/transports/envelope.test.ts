import t from 'tap'
import { MAX_NESTING, parseEnvelope, parseParts, parsePayload } from '../../lib/transports/envelope.ts'

const TOO_DEEP = { ok: false, status: 400, reason: 'nested_too_deep', message: `payload nested deeper than ${MAX_NESTING} levels` }

t.test('a JSON array is a batch, in order (C01)', async t => {
  const batch = [{ channel: '/meta/connect', id: '1' }, { channel: '/a', id: '2', data: 1 }]
  t.same(parseEnvelope(JSON.stringify(batch), 10), { ok: true, batch })
  t.same(parseEnvelope(' \n[{"channel":"/a"}]\n ', 10), { ok: true, batch: [{ channel: '/a' }] }, 'surrounding whitespace is fine')
  t.same(parseEnvelope('[1, null, "x"]', 10), { ok: true, batch: [1, null, 'x'] }, 'elements are judged one by one later, not here')
})

t.test('a single object is a one-message batch (C02)', async t => {
  t.same(parseEnvelope('{"channel":"/meta/handshake","version":"1.0"}', 10), { ok: true, batch: [{ channel: '/meta/handshake', version: '1.0' }] })
  t.same(parseEnvelope('{}', 10), { ok: true, batch: [{}] })
})

t.test('a payload that is not JSON is HTTP 400 (C03)', async t => {
  for (const text of ['', 'hello', '[{"channel":"/a"}', '{"channel":}', 'message=%5B%5D', '\uFEFF[{"channel":"/a"}]', "[{'channel':'/a'}]"]) {
    t.match(parseEnvelope(text, 10), { ok: false, status: 400, reason: 'not_json', message: 'payload is not JSON' }, JSON.stringify(text))
  }
})

t.test('an empty array is an HTTP error, never 200 [] (C04)', async t => {
  t.match(parseEnvelope('[]', 10), { ok: false, status: 400 })
  t.match(parseEnvelope(' [ ] ', 10), { ok: false, status: 400 })
})

t.test('JSON scalars are HTTP 400: only messages get a 200 answer (C05)', async t => {
  for (const text of ['42', '"[]"', 'null', 'true', 'false', '-0.5']) {
    t.match(parseEnvelope(text, 10), { ok: false, status: 400 }, text)
  }
})

t.test('more messages than allowed is HTTP 413, the limit itself is fine', async t => {
  const batch = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => ({ channel: '/a', id: String(i) })))
  t.match(parseEnvelope(batch(3), 3), { ok: true })
  t.match(parseEnvelope(batch(4), 3), { ok: false, status: 413 })
  t.match(parseEnvelope('{"channel":"/a"}', 1), { ok: true }, 'a single object is one message')
})

t.test('parseParts joins several texts (JSONP or form message parameters) into one batch', async t => {
  t.same(parseParts(['{"channel":"/a"}', '[{"channel":"/b"},{"channel":"/c"}]'], 5), { ok: true, batch: [{ channel: '/a' }, { channel: '/b' }, { channel: '/c' }] })
  t.match(parseParts(['{"channel":"/a"}', 'nope'], 5), { ok: false, status: 400, reason: 'not_json' }, 'one bad part refuses the whole')
  t.match(parseParts(['[]'], 5), { ok: false, status: 400, reason: 'not_a_batch' }, 'no message at all')
  t.match(parseParts(['[{},{}]', '[{},{}]'], 3), { ok: false, status: 413, reason: 'too_many_messages' }, 'the limit counts every part')
})

t.test('nesting deeper than MAX_NESTING is HTTP 400: JSON.parse takes it, serializing the event later overflowed the stack (C102)', async t => {
  const arrays = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)
  const publish = (data: string) => `[{"channel":"/a","clientId":"x","data":${data}}]`
  // Found by spec/e2e/fuzz.test.ts: data 6,000 arrays deep was accepted, then JSON.stringify threw in a handler.
  t.same(parseEnvelope(publish(arrays(6_000)), 10), TOO_DEEP)
  t.same(parseEnvelope(publish('{"a":'.repeat(MAX_NESTING) + '0' + '}'.repeat(MAX_NESTING)), 10), TOO_DEEP, 'objects count too')
  t.match(parseEnvelope(publish(arrays(MAX_NESTING - 2)), 10), { ok: true }, 'the limit itself is fine (the batch and the message are two levels)')
  const brackets = '['.repeat(2 * MAX_NESTING)
  t.match(parseEnvelope(publish(JSON.stringify(brackets)), 10), { ok: true }, 'brackets inside strings do not count')
  t.match(parseEnvelope(publish(JSON.stringify(`\\"${brackets}`)), 10), { ok: true }, 'nor after an escaped quote')
})

t.test('parsePayload gives any JSON value, or the same errors as parseEnvelope (C03)', async t => {
  t.same(parsePayload('[]'), { ok: true, value: [] }, 'an empty array is valid JSON; whether it is a batch is decided later')
  t.same(parsePayload('7'), { ok: true, value: 7 })
  t.match(parsePayload('{nope'), { ok: false, status: 400, reason: 'not_json', message: 'payload is not JSON' })
  t.same(parsePayload('['.repeat(MAX_NESTING + 1) + ']'.repeat(MAX_NESTING + 1)), TOO_DEEP)
})
