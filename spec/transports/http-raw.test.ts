/**
 * The standalone server's way in (lib/transports/http-raw.ts): Bayeux requests are
 * served in front of fastify, everything else (and everything, once another route
 * lies under the Bayeux path, or once fastify closes) goes through fastify.
 */
import t from 'tap'
import type { Test } from 'tap'
import Fastify from 'fastify'
import { request } from 'undici'
import { BayeuxServer } from '../../lib/index.ts'
import { serveBayeux } from '../../lib/plugin.ts'
import { RawWayIn } from '../../lib/transports/http-raw.ts'

const HANDSHAKE = JSON.stringify([{ id: '1', channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }])

/** A fastify app with the raw way in, counting the requests fastify itself sees. */
async function start (t: Test, path: string, otherRoute: string): Promise<{ origin: string, seenByFastify: string[] }> {
  const fastify = Fastify({ logger: false })
  const seenByFastify: string[] = []
  fastify.addHook('onRequest', async request => { seenByFastify.push(`${request.method} ${request.url}`) })
  const wayIn = new RawWayIn(fastify)
  await fastify.register(async instance => {
    wayIn.serve(await serveBayeux(instance, new BayeuxServer({ path })))
  })
  fastify.get(otherRoute, async () => 'other')
  await fastify.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => fastify.close())
  const address = fastify.server.address()
  return { origin: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`, seenByFastify }
}

async function post (url: string): Promise<{ status: number, text: string }> {
  const answer = await request(url, { method: 'POST', body: HANDSHAKE })
  return { status: answer.statusCode, text: await answer.body.text() }
}

t.test('Bayeux requests do not reach fastify; the rest do', async t => {
  const { origin, seenByFastify } = await start(t, '/cometd', '/health')
  for (const suffix of ['', '/', '/handshake', '?x=1']) {
    const answer = await post(`${origin}/cometd${suffix}`)
    t.equal(answer.status, 200, suffix || '(none)')
    t.match(JSON.parse(answer.text), [{ channel: '/meta/handshake', successful: true }])
  }
  const preflight = await request(`${origin}/cometd`, { method: 'OPTIONS' })
  await preflight.body.dump()
  t.equal(preflight.statusCode, 200, 'preflight')
  t.same(seenByFastify, [], 'fastify saw none of them')

  const other = await request(`${origin}/health`)
  t.equal(await other.body.text(), 'other')
  const lookalike = await post(`${origin}/cometdX`)
  t.equal(lookalike.status, 404, 'a path that only starts like the endpoint is not the endpoint')
  const head = await request(`${origin}/cometd`, { method: 'HEAD' })
  await head.body.dump()
  t.same(seenByFastify, ['GET /health', 'POST /cometdX', 'HEAD /cometd'], 'fastify saw the others, HEAD included')
})

t.test('with another route under the Bayeux path, fastify routes everything, Bayeux included', async t => {
  const { origin, seenByFastify } = await start(t, '/', '/health')
  const answer = await post(`${origin}/`)
  t.match(JSON.parse(answer.text), [{ channel: '/meta/handshake', successful: true }], 'Bayeux is served')
  const other = await request(`${origin}/health`)
  t.equal(await other.body.text(), 'other', 'and the other route is not shadowed')
  t.same(seenByFastify, ['POST /', 'GET /health'])
})
