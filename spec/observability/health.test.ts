/**
 * lib/observability/health.ts: the probes and the metrics route, through
 * fastify.inject (no sockets).
 */
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { engineReachable, mountHealthAndMetrics, notReady } from '../../lib/observability/health.ts'
import { BayeuxMetrics } from '../../lib/observability/metrics.ts'
import { MemoryEngine } from '../../lib/engines/memory.ts'
import type { ServerCore } from '../../lib/server/core.ts'
import { CoreHarness } from '../support/core-harness.ts'
import { Scrape } from '../support/prometheus-text.ts'

interface Teardown { teardown (fn: () => unknown): void }

async function app (t: Teardown, core: ServerCore, metrics?: BayeuxMetrics): Promise<FastifyInstance> {
  const fastify = Fastify({ logger: false })
  mountHealthAndMetrics(fastify, core, metrics)
  await fastify.ready()
  t.teardown(() => fastify.close())
  return fastify
}

/** An engine that has lost its broker, as a Redis engine would declare it. */
class UnreachableEngine extends MemoryEngine {
  reachable = false
}

t.test('ready is 503 as soon as the server drains, while live stays 200', async t => {
  const h = await CoreHarness.start(t)
  const fastify = await app(t, h.core)
  t.equal((await fastify.inject('/health/ready')).statusCode, 200)
  const drained = h.core.drain(1_000)
  const draining = await fastify.inject('/health/ready')
  t.equal(draining.statusCode, 503)
  t.equal((await fastify.inject('/health/live')).statusCode, 200, 'still live')
  await drained
})

t.test('live is 200 while the process runs; ready is 200 while serving, 503 once closing', async t => {
  const h = await CoreHarness.start(t)
  const fastify = await app(t, h.core)
  const live = await fastify.inject('/health/live')
  t.equal(live.statusCode, 200)
  t.equal(live.headers['cache-control'], 'no-store')
  const ready = await fastify.inject('/health/ready')
  t.equal(ready.statusCode, 200)
  t.equal(ready.body, 'ready\n')

  await h.core.close()
  const closing = await fastify.inject('/health/ready')
  t.equal(closing.statusCode, 503)
  t.equal(closing.body, 'closing\n')
  t.equal((await fastify.inject('/health/live')).statusCode, 200, 'still live')
})

t.test('ready is 503 while the engine cannot reach its broker', async t => {
  t.equal(engineReachable(new MemoryEngine()), true, 'the memory engine needs nothing')
  const engine = new UnreachableEngine()
  t.equal(engineReachable(engine), false)
  const h = await CoreHarness.start(t, { engine })
  const fastify = await app(t, h.core)
  const ready = await fastify.inject('/health/ready')
  t.equal(ready.statusCode, 503)
  t.equal(ready.body, 'engine unreachable\n')
  engine.reachable = true
  t.equal(notReady(h.core), undefined)
  t.equal((await fastify.inject('/health/ready')).statusCode, 200, 'and ready again once it does')
})

t.test('probes need no allowed origin and send no CORS headers; HEAD works too', async t => {
  const h = await CoreHarness.start(t)
  const fastify = await app(t, h.core)
  for (const url of ['/health/live', '/health/ready']) {
    const answer = await fastify.inject({ url, headers: { origin: 'https://elsewhere.example' } })
    t.equal(answer.statusCode, 200, `${url} from any origin`)
    t.equal(answer.headers['access-control-allow-origin'], undefined)
    t.equal((await fastify.inject({ method: 'HEAD', url })).statusCode, 200, `HEAD ${url}`)
  }
  t.equal((await fastify.inject({ method: 'POST', url: '/health/live' })).statusCode, 404, 'only GET and HEAD')
})

t.test('/metrics is served only with metrics, as Prometheus text', async t => {
  const h = await CoreHarness.start(t)
  const without = await app(t, h.core)
  t.equal((await without.inject('/metrics')).statusCode, 404)

  const metrics = new BayeuxMetrics(h.core, { processMetrics: false })
  t.teardown(() => metrics.close())
  const fastify = await app(t, h.core, metrics)
  const answer = await fastify.inject('/metrics')
  t.equal(answer.statusCode, 200)
  t.equal(answer.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
  t.equal(new Scrape(answer.body).value('bayeux_connects_held'), 0)
})
