/** What both HTTP ways in share (lib/transports/http-exchange.ts): reading bodies, the query. */
import { PassThrough } from 'node:stream'
import type { IncomingMessage, ServerResponse } from 'node:http'
import t from 'tap'
import { HttpExchange, readBody } from '../../lib/transports/http-exchange.ts'
import type { Refusal } from '../../lib/transports/envelope.ts'

function read (chunks: Buffer[], contentLength: string | undefined, limit: number): Promise<string | Refusal> {
  const stream = new PassThrough()
  const body = new Promise<string | Refusal>(resolve => readBody(stream, contentLength, limit, resolve))
  for (const chunk of chunks) stream.write(chunk)
  stream.end()
  return body
}

t.test('a body is read as UTF-8 text, in one chunk or several', async t => {
  t.equal(await read([Buffer.from('[{"a":1}]')], undefined, 100), '[{"a":1}]')
  const text = Buffer.from('["é€😀"]')
  t.equal(await read([text.subarray(0, 3), text.subarray(3, 5), text.subarray(5)], undefined, 100), '["é€😀"]', 'a character split across chunks')
  t.equal(await read([], undefined, 100), '', 'no body')
})

t.test('a body over the limit is refused with 413, announced or not', async t => {
  t.match(await read([Buffer.from('x')], '101', 100), { ok: false, status: 413, reason: 'too_large' }, 'by its Content-Length, before it is read')
  t.match(await read([Buffer.alloc(60), Buffer.alloc(60)], undefined, 100), { ok: false, status: 413, reason: 'too_large' }, 'as it arrives')
  t.equal(typeof await read([Buffer.alloc(100)], '100', 100), 'string', 'the limit itself is allowed')
})

class TestExchange extends HttpExchange {
  get remoteAddress (): string | undefined {
    return undefined
  }

  send (): void {}
}

t.test('the query is parsed from the URL, a repeated parameter as an array', async t => {
  const exchange = (url: string): HttpExchange => new TestExchange({ url, headers: {} } as IncomingMessage, {} as ServerResponse, undefined)
  t.same(exchange('/cometd?jsonp=cb&message=%5B1%5D&message=2').query, { jsonp: 'cb', message: ['[1]', '2'] })
  t.same(exchange('/cometd').query, {})
})
