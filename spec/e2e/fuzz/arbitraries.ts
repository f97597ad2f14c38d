/**
 * fast-check generators of hostile Bayeux traffic. They start from the messages real
 * clients send (docs/protocol.md §1.3) and mutate them: wrong types, huge strings, deep
 * nesting, prototype-polluting keys, unicode edge cases, invalid channels, invalid
 * JSON text, invalid UTF-8. A generated value is a tree with two kinds of
 * placeholders, filled in when it is sent (see body.ts): ClientRef (a live clientId
 * obtained by a real handshake) and Raw (JSON text JSON.stringify cannot produce).
 */
import fc from 'fast-check'
import { ClientRef, Raw } from './body.ts'
import type { Body } from './body.ts'

/** How big generated strings and nestings may get, so that a transport's own size limits are crossed sometimes, not always. */
export interface Sizes {
  /** Longest generated string, in characters. */
  huge: number
  /** Deepest generated nesting of arrays or objects. */
  deep: number
}

export type Json = Record<string, unknown>

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype']

/** Lone surrogates, line separators JSON allows but JavaScript did not, NUL, BOM, bidi override, combining marks. */
export const UNICODE_EDGES = [
  '\uD800', '\uDC00', 'a\uD83D', '\uDE00b', '\u2028', '\u2029', '\u0000', 'a\u0000b', '\uFEFF', '\uFFFE', '\uFFFF',
  '\u202E', 'e\u0301\u0301', '\u{1F600}', '\u{10FFFF}', '\r\n', '</script>', '\u0085', '\u001F', '%00', '%u2028'
]

export const CHANNELS = ['/fuzz/a', '/fuzz/b/c', '/chat/room', '/service/echo', '/service/none']
const PATTERNS = [...CHANNELS, '/fuzz/*', '/fuzz/**', '/**', '/*', '/chat/*', '/service/*']

/** Channel names a server must refuse or keep apart (docs/protocol.md §2.5, CVE-2020-11020 class). */
const INVALID_CHANNELS = [
  '', '/', '//', 'fuzz', '/fuzz/', '/fuzz//a', '/meta', '/meta/', '/meta/connect/', '/meta/Connect', '/META/handshake',
  '/meta/subscribe/x', '/meta/connect/x', '/%6Deta/connect', '/meta/%63onnect', '/fuzz/*/a', '/fuzz/***', '/fuzz/a*',
  '/**/a', '/service', '/service/', '/a b/\u0000', '/\u2028', '/\u00fc', '/./..', '/__proto__', '/constructor/prototype',
  '/fuzz/hasOwnProperty', '/toString', '/meta/unknown', '/meta/handshake ', ' /meta/handshake', '/meta/*', '/meta/**'
]

const ownChannel = fc.constantFrom(...CHANNELS)
const id = fc.integer({ min: 1, max: 99_999 }).map(String)
const clientRef = fc.oneof({ weight: 9, arbitrary: fc.constant(ClientRef.OWN) }, { weight: 1, arbitrary: fc.constant(ClientRef.OTHER) })
const connectionType = fc.constantFrom('long-polling', 'callback-polling', 'websocket')
const timesync = fc.record({ tc: fc.integer({ min: 0 }), l: fc.integer({ min: 0, max: 100 }), o: fc.integer({ min: -100, max: 100 }) })

/** Adds `key: value` as an own, enumerable property, even for `__proto__`. */
function defineOwn (target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

/** Drops the keys whose value is undefined, so optional fields are really absent. */
function compact (message: Json): Json {
  for (const key of Object.keys(message)) if (message[key] === undefined) delete message[key]
  return message
}

/** What well-behaved clients send (docs/protocol.md §1.3), with real clientIds. */
export const validMessage: fc.Arbitrary<Json> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      id,
      ack: fc.boolean(),
      types: fc.subarray(['websocket', 'long-polling', 'callback-polling'], { minLength: 1 }),
      sync: fc.option(timesync, { nil: undefined })
    }).map(({ id, ack, types, sync }) => compact({
      id,
      channel: '/meta/handshake',
      version: '1.0',
      minimumVersion: '1.0',
      supportedConnectionTypes: types,
      advice: { timeout: 60_000, interval: 0 },
      ext: ack || sync !== undefined ? compact({ ack: ack || undefined, timesync: sync }) : undefined
    }))
  },
  {
    weight: 3,
    arbitrary: fc.record({
      id,
      clientId: clientRef,
      connectionType,
      advice: fc.option(fc.oneof(fc.constant({ timeout: 0 }), fc.record({ timeout: fc.nat(1_000), interval: fc.nat(100) })), { nil: undefined }),
      ext: fc.option(fc.oneof(fc.record({ ack: fc.nat(20) }), fc.record({ timesync })), { nil: undefined })
    }).map(fields => compact({ channel: '/meta/connect', ...fields }))
  },
  {
    weight: 2,
    arbitrary: fc.record({
      id,
      channel: fc.constantFrom('/meta/subscribe', '/meta/unsubscribe'),
      clientId: clientRef,
      subscription: fc.oneof(fc.constantFrom(...PATTERNS), fc.array(fc.constantFrom(...PATTERNS), { minLength: 1, maxLength: 3 }))
    })
  },
  {
    weight: 4,
    arbitrary: fc.record({
      id,
      channel: ownChannel,
      clientId: clientRef,
      data: fc.jsonValue({ maxDepth: 3 }),
      ext: fc.option(fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }), { nil: undefined })
    }).map(compact)
  },
  fc.record({ id, channel: fc.constant('/meta/disconnect'), clientId: clientRef })
)

/** Sizes from `candidates` within `max`, and `max` itself. */
function upTo (max: number, candidates: number[]): fc.Arbitrary<number> {
  return fc.constantFrom(...candidates.filter(n => n < max), max)
}

/** JSON values no well-behaved client sends, in every JSON type and some JSON.parse-only forms. */
export function hostileValue (sizes: Sizes): fc.Arbitrary<unknown> {
  const hugeString = fc.tuple(fc.constantFrom('a', '\u2028', '\uD800', '\u00e9', '\u0000', '"', '\\', '\u{1F600}'), upTo(sizes.huge, [1_000, 5_000, 20_000, 70_000]))
    .map(([unit, length]) => unit.repeat(Math.ceil(length / unit.length)))
  // JSON.parse takes any depth; recursive code (JSON.stringify among it) overflows past a few thousand.
  const deep = fc.tuple(fc.boolean(), upTo(sizes.deep, [10, 100, 300, 1_000, 6_000, 10_000, 30_000]))
    .map(([arrays, depth]) => new Raw(arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '0' + '}'.repeat(depth)))
  const leaf = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(null, true, false, 0, -1, 1.5, Number.MAX_SAFE_INTEGER + 2, -Number.MAX_VALUE, 2 ** 31, '', ' ', '0', 'true', 'null', '[]', '{}') },
    { weight: 3, arbitrary: fc.constantFrom(...UNICODE_EDGES) },
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
    { weight: 2, arbitrary: fc.double() },
    {
      weight: 2,
      arbitrary: fc.constantFrom('1e999', '-1e999', '1e-999', '-0', '123456789012345678901234567890', '0.1e1', '{"__proto__":{"polluted":"yes"}}',
        '{"constructor":{"prototype":{"polluted":"yes"}}}', '{"__proto__":[]}', '{"__proto__":null}', '{"a":1,"a":2}', '[]', '{}')
        .map(text => new Raw(text))
    },
    fc.constantFrom(...PROTO_KEYS, ClientRef.OWN, ClientRef.OTHER),
    hugeString,
    deep,
    fc.integer({ min: 100, max: Math.min(5_000, sizes.huge / 2) }).map(n => new Raw(`[${'0,'.repeat(n)}0]`))
  )
  const { tree } = fc.letrec<{ tree: unknown }>(tie => ({
    tree: fc.oneof(
      { depthSize: 'small', maxDepth: 3 },
      { weight: 4, arbitrary: leaf },
      fc.array(tie('tree'), { maxLength: 4 }),
      fc.array(fc.tuple(fc.oneof(fc.constantFrom(...PROTO_KEYS, 'ack', 'timesync', 'tc', 'channel', 'successful'), fc.string({ maxLength: 6 })), tie('tree')), { maxLength: 4 })
        .map(entries => {
          const object = {}
          for (const [key, value] of entries) defineOwn(object, key, value)
          return object
        })
    )
  }))
  return tree
}

type Mutation = (message: Json) => void

const FIELDS = ['channel', 'id', 'clientId', 'data', 'ext', 'advice', 'subscription', 'connectionType', 'version',
  'minimumVersion', 'supportedConnectionTypes', 'successful', 'error', 'timestamp']

function mutation (sizes: Sizes): fc.Arbitrary<Mutation> {
  const hostile = hostileValue(sizes)
  const generatedChannel = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 12 }).map(s => '/' + s),
    fc.integer({ min: 33, max: 40 }).map(depth => '/a'.repeat(depth)),
    fc.integer({ min: 500, max: 600 }).map(length => '/' + 'c'.repeat(length)),
    fc.constantFrom(...UNICODE_EDGES).map(edge => `/fuzz/${edge}`)
  )
  const channel = fc.oneof(fc.constantFrom(...INVALID_CHANNELS), generatedChannel)
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...FIELDS), hostile).map(([field, value]): Mutation => m => { m[field] = value }) },
    // What the server forwards to others (data, ext) gets hostile values more often.
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom('data', 'ext'), hostile).map(([field, value]): Mutation => m => { m[field] = value }) },
    fc.constantFrom(...FIELDS).map((field): Mutation => m => { delete m[field] }),
    fc.tuple(fc.constantFrom(...PROTO_KEYS), hostile).map(([key, value]): Mutation => m => defineOwn(m, key, value)),
    { weight: 2, arbitrary: channel.map((name): Mutation => m => { m['channel'] = name }) },
    fc.oneof(channel, fc.array(fc.oneof(channel, hostile), { minLength: 0, maxLength: 4 }), fc.integer({ min: 1_001, max: 1_100 }).map(n => Array.from({ length: n }, (_, i) => `/many/${i}`)))
      .map((subscription): Mutation => m => { m['subscription'] = subscription }),
    {
      weight: 2,
      arbitrary: fc.tuple(fc.constantFrom('ext', 'advice', 'data'), fc.constantFrom(...PROTO_KEYS, 'ack', 'timesync', 'timeout', 'interval', 'reconnect'), hostile)
        .map(([field, key, value]): Mutation => m => {
          const current = m[field]
          const inner = typeof current === 'object' && current !== null && !Array.isArray(current) && !(current instanceof Raw) ? { ...current } : {}
          defineOwn(inner, key, value)
          m[field] = inner
        })
    }
  )
}

/** A valid message with one to three mutations. */
export function mutatedMessage (sizes: Sizes): fc.Arbitrary<Json> {
  return fc.tuple(validMessage, fc.array(mutation(sizes), { minLength: 1, maxLength: 3 })).map(([valid, mutations]) => {
    const message = { ...valid }
    for (const mutate of mutations) mutate(message)
    return message
  })
}

/** One element of a batch: mostly messages, some not even objects. */
function element (sizes: Sizes): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: validMessage },
    { weight: 6, arbitrary: mutatedMessage(sizes) },
    { weight: 1, arbitrary: hostileValue(sizes) }
  )
}

const INVALID_TEXTS = [
  '', ' ', '\uFEFF[]', '\uFEFF[{"channel":"/meta/handshake"}]', '[', ']', '{', '[{]', '[{"channel":}]', '[1,]', "['single']",
  'NaN', 'undefined', '[{"channel":"/meta/handshake"}]garbage', '\u0000', 'null', 'true', '42', '"str"', '[]', '{}', '[[]]',
  '[null]', '[[],[]]', '[[{"channel":"/meta/connect"}]]', '[{"channel":"/meta/handshake"},]', '/**/[]', '[{"channel":"\\ud800"}]',
  '[{"channel":"/fuzz/a","data":"\\u0000"}]', '[{"channel":"/meta/handshake","__proto__":{"successful":false}}]'
]

/** Bytes that are not UTF-8: a transport must refuse them as text, never crash. */
const INVALID_UTF8 = [
  [0xff, 0xfe], [0xc3, 0x28], [0xc0, 0xaf], [0x5b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x5d],
  [...Buffer.from('[{"channel":"/fuzz/'), 0xff, ...Buffer.from('","data":1}]')]
].map(bytes => Uint8Array.from(bytes))

/** A whole transport payload. */
export function payload (sizes: Sizes, maxBatch: number): fc.Arbitrary<Body> {
  const tree = (value: fc.Arbitrary<unknown>): fc.Arbitrary<Body> => value.map(value => ({ kind: 'tree', value }))
  return fc.oneof(
    { weight: 12, arbitrary: tree(fc.array(element(sizes), { minLength: 1, maxLength: 6 })) },
    { weight: 3, arbitrary: tree(element(sizes)) },
    { weight: 1, arbitrary: tree(fc.array(validMessage, { minLength: maxBatch + 1, maxLength: maxBatch + 8 })) },
    { weight: 2, arbitrary: fc.constantFrom(...INVALID_TEXTS).map((text): Body => ({ kind: 'text', text })) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((text): Body => ({ kind: 'text', text })) },
    { weight: 1, arbitrary: fc.constantFrom(...INVALID_UTF8).map((bytes): Body => ({ kind: 'bytes', bytes })) },
    {
      weight: 2,
      arbitrary: fc.record({ value: fc.array(validMessage, { minLength: 1, maxLength: 3 }), at: fc.nat(), insert: fc.constantFrom('', ',', '"', '\\', '}', ']', '\u0000', '\uD800', 'x') })
        .map(({ value, at, insert }): Body => ({ kind: 'mangled', value, at, insert }))
    }
  )
}

/** JSONP callback names: the ones real clients generate, and ones that could smuggle script (docs/protocol.md §7.3). */
export const callbackName = fc.oneof(
  { weight: 14, arbitrary: fc.constantFrom('cb', '_cometd_jsonp_3', '__jsonp1__', 'a.b.c', '$', 'x'.repeat(64)) },
  fc.constantFrom('', ' ', 'alert(1)//', '<script>', 'x'.repeat(65), '__proto__', 'constructor', 'a..b', '.a', 'a.', 'x\u2028',
    '\u00e9', '1abc', 'a;b', 'a=b', 'a&b', 'a b', 'cb()', 'cb\u0000', '/**/cb', 'eval', 'a[0]', "a'b"),
  fc.string({ unit: 'binary', maxLength: 10 })
)
