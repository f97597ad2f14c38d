import t from 'tap'
import type { FastifyRequest } from 'fastify'
import { callbackPolling } from '../../lib/transports/callback-polling.ts'
import { TOO_DEEP } from '../../lib/transports/envelope.ts'

const limits = { maxMessagesPerBatch: 10, maxBodySize: 65_536, jsonpCallbackMaxLength: 64 }
const read = (query: Record<string, string | string[]>) => callbackPolling.read({ query } as unknown as FastifyRequest, limits)

t.test('a message parameter nested too deep is HTTP 400, like a POST body (C102)', async t => {
  const deep = `[{"channel":"/a","data":${'['.repeat(6_000)}${']'.repeat(6_000)}}]`
  t.same(read({ jsonp: 'cb', message: deep }), TOO_DEEP)
  t.same(read({ jsonp: 'cb', message: ['[{"channel":"/a","data":1}]', deep] }), TOO_DEEP, 'in any of several message parameters')
  t.match(read({ jsonp: 'cb', message: '[{"channel":"/a","data":[[1]]}]' }), { ok: true })
})
