import t from 'tap'
import { RedisEngine } from '../../lib/engines/redis.ts'
import { delay } from '../helpers.ts'
import { connectRedis, keysUnder, REDIS_URL, requireRedis, requireRedisBinaries, testPrefix, ThrowawayRedis } from '../support/redis.ts'
import { engineContract, historyHost, record } from './contract.ts'

t.test('options that cannot work are refused when the engine is made, before it connects', async t => {
  for (const url of ['127.0.0.1:6379', 'http://127.0.0.1:6379', 'redis://']) {
    t.throws(() => new RedisEngine({ url }), { code: 'BAYEUX_ERR_INVALID_OPTIONS', message: /url must be redis:/ }, url)
  }
  t.throws(() => new RedisEngine({ heartbeat: 2000, detection: 1000 }), { code: 'BAYEUX_ERR_INVALID_OPTIONS', message: /detection must be longer than heartbeat/ })
})

if (await requireRedis(t)) {
  const prefix = testPrefix(t)
  engineContract(t, cluster => new RedisEngine({ url: REDIS_URL, prefix: `${prefix}${cluster}:` }), { nodes: true })
}

t.test('history in Redis', async t => {
  if (!await requireRedis(t)) return
  const prefix = testPrefix(t)
  const limits = { size: 3, ttl: 60_000 }
  const engine = new RedisEngine({ url: REDIS_URL, prefix })
  await engine.start(historyHost(limits))
  t.teardown(() => engine.close())
  const redis = await connectRedis(t)
  for (const data of [1, 2, 3, 4]) await record(engine, '/h/a', data)
  await record(engine, '/h/b', 5)

  await t.test('a stream per channel, trimmed to the size, and an index; each expires', async t => {
    t.same(await redis.xLen(`${prefix}h:/h/a`), 3)
    t.same((await keysUnder(prefix)).filter(key => key.startsWith(`${prefix}h:`)), [`${prefix}h:/h/a`, `${prefix}h:/h/b`, `${prefix}h:channels`])
    for (const key of ['h:/h/a', 'h:/h/b', 'h:channels']) {
      const ttl = await redis.pTTL(prefix + key)
      t.ok(ttl > 0 && ttl <= limits.ttl, `${key}: ${ttl} ms`)
    }
  })

  await t.test('replays that read the same events at once share one parse of each', async t => {
    const [first, second] = await Promise.all([engine.history('/h/a', undefined, 10), engine.history('/h/a', undefined, 10)])
    t.same(first!.map(event => (event.message as { data: unknown }).data), [2, 3, 4], 'the events kept')
    t.ok(second!.length === 3 && first!.every((event, i) => event === second![i]), 'the very same objects')
  })

  await t.test('after Redis lost the history, ids stay above those issued before, and resuming from those is refused', async t => {
    const issued = (await engine.history('/h/**', undefined, 10))!.map(event => event.replayId!)
    await redis.unlink(['h:/h/a', 'h:/h/b', 'h:channels'].map(key => prefix + key))
    await record(engine, '/h/b', 6)
    const [next] = (await engine.history('/h/b', undefined, 10))!
    t.ok(next!.replayId! > Math.max(...issued), `${next!.replayId} after ${issued.join(', ')}`)
    t.equal(await engine.history('/h/b', issued.at(-1), 10), undefined)
    t.equal(await engine.history('/h/a', issued[0], 10), undefined)
  })
})

t.test('a session ended while Redis was away never comes back, and its keys go once Redis is back (issue 10)', async t => {
  if (!requireRedisBinaries(t)) return
  // On disk: Redis comes back with the keys the failed destroys left behind.
  const redis = await ThrowawayRedis.start(t, ['--appendonly', 'yes', '--appendfsync', 'always'])
  const prefix = 'ended:'
  // No heartbeat in the test's time: what is retried, is retried because Redis is back.
  const options = { url: redis.url, prefix, heartbeat: 600_000, detection: 1_200_000 }
  const [a, b] = [new RedisEngine(options), new RedisEngine(options)]
  const reports: boolean[] = []
  for (const engine of [a, b]) {
    await engine.start({ ...historyHost({ size: 0, ttl: 0 }), destroysPending: pending => { if (engine === a) reports.push(pending) } })
    t.teardown(() => engine.close())
  }
  const ids = ['found', 'claimed', 'moved', 'retried']
  for (const id of ids) {
    await a.createSession(id, { ack: false })
    await a.subscribe(id, '/x')
  }

  await redis.kill()
  for (const id of ids) await t.rejects(a.destroySession(id), { code: 'BAYEUX_ERR_ENGINE_UNAVAILABLE' }, `${id}: its destroy fails`)
  t.same([reports, a.pendingDestroys], [[true], ids.length], 'kept for a retry: reported once, not per session')
  await redis.restart()
  const client = await connectRedis(t, redis.url)
  t.equal(await client.exists(ids.map(id => `${prefix}s:${id}`)), ids.length, 'the records are still in Redis')
  // Both nodes listen again, and have their command connections back (2 each, and this client).
  const listening = async (): Promise<boolean> => (await client.pubSubNumSub(`${prefix}n:${a.node}`))[`${prefix}n:${a.node}`] === 1
  for (let i = 0; i < 400 && (!await listening() || (await client.clientList()).length < 5); i++) await delay(25)

  t.equal(await b.claim('moved', { socket: false }), undefined, 'a connect on another node: the node it ended on says so, and it is unknown')
  t.same(await Promise.all([a.find('found'), a.claim('claimed', { socket: false })]), [undefined, undefined],
    'a request or a connect on the node it ended on: unknown, not taken for a session of that node')

  // The first command that reached Redis again brought the retry of the destroy that did not go through.
  for (let i = 0; i < 400 && (a.pendingDestroys > 0 || (await keysUnder(prefix, redis.url)).some(key => key.startsWith(`${prefix}s:`) || key.startsWith(`${prefix}c:`))); i++) await delay(25)
  const left = await keysUnder(prefix, redis.url)
  t.same(left.filter(key => key.startsWith(`${prefix}s:`) || key.startsWith(`${prefix}c:`)), [], 'no record, subscription or interest left')
  t.same(await client.sMembers(`${prefix}n:${a.node}:sessions`), [])
  t.same(await client.sMembers(`${prefix}n:${b.node}:sessions`), [])
  t.same([reports, a.pendingDestroys], [[true, false], 0], 'none left: reported once')
})

t.test('a Redis that answers nothing behind its open sockets is an outage once its commands time out, reported once (issue 10)', async t => {
  if (!requireRedisBinaries(t)) return
  const redis = await ThrowawayRedis.start(t)
  const statuses: boolean[] = []
  // No heartbeat in the test's time: the only commands are the test's.
  const engine = new RedisEngine({ url: redis.url, prefix: 'hung:', heartbeat: 600_000, detection: 1_200_000, commandTimeout: 100 })
  await engine.start({ ...historyHost({ size: 0, ttl: 0 }), statusChanged: available => statuses.push(available) })
  t.teardown(() => engine.close())

  redis.pause()
  t.teardown(() => redis.resume())
  // Both sent before either times out: neither is answered, each fails on its own timeout.
  const [first, second] = [engine.sessionCount(), engine.sessionCount()]
  await t.rejects(first, { code: 'BAYEUX_ERR_ENGINE_UNAVAILABLE', message: /is not available/ }, 'the connection is open, the command times out')
  await t.rejects(second, { code: 'BAYEUX_ERR_ENGINE_UNAVAILABLE' })
  t.same([statuses, engine.reachable], [[false], false], 'an outage, reported once')
  redis.resume()
  for (let i = 0; i < 200 && !engine.reachable; i++) await engine.sessionCount().catch(async () => await delay(25))
  t.same([statuses, engine.reachable], [[false, true], true], 'and its end, once Redis answers')
})
