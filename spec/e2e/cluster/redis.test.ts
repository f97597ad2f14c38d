/**
 * spec/support/redis.ts: the skip-or-fail rule for a missing Redis, key prefixes cleaned
 * up when their test ends, and a throwaway redis-server for outages that comes back
 * empty on its port.
 */
import t from 'tap'
import { connectRedis, deleteUnder, keysUnder, redisAnswers, requireRedis, requireRedisBinaries, testPrefix, ThrowawayRedis, REDIS_URL } from '../../support/redis.ts'
import { freePort } from '../../support/services.ts'

t.test('requireRedis, with no Redis at the URL: skips the test, or fails it under CI=true', async t => {
  const nowhere = `redis://127.0.0.1:${await freePort()}`
  const ci = process.env['CI']
  t.teardown(() => { if (ci === undefined) delete process.env['CI']; else process.env['CI'] = ci })
  const calls: string[] = []
  const fake = {
    teardown () {},
    plan (n: number, comment?: string) { calls.push(`plan ${n} ${comment}`) },
    fail (message: string) { calls.push(`fail ${message}`); return false }
  }

  delete process.env['CI']
  t.equal(await requireRedis(fake, nowhere), false)
  t.match(calls.pop(), new RegExp(`^plan 0 no Redis answers at ${nowhere}`), 'skipped, saying where it looked')
  process.env['CI'] = 'true'
  t.equal(await requireRedis(fake, nowhere), false)
  t.match(calls.pop(), /^fail no Redis answers at .*CI must provide it/, 'failed in CI')
  t.same(calls, [])
  t.equal(await redisAnswers(nowhere), false)
})

t.test('a test prefix: its keys listed by SCAN, and deleted when its test ends', async t => {
  if (!await requireRedis(t)) return
  const redis = await connectRedis(t)
  const outer = testPrefix(t)
  await redis.set(`${outer}kept`, 'until the outer test ends')

  let inner = ''
  await t.test('a test that writes under its prefix', async t => {
    inner = testPrefix(t)
    t.not(inner, outer, 'each test has its own prefix')
    t.match(inner, /^bayeux-test:[0-9a-f]{12}:$/)
    await redis.mSet(Array.from({ length: 2_500 }, (_, i) => [`${inner}key:${i}`, String(i)] as [string, string]))
    await redis.hSet(`${inner}hash`, 'field', 'value')
    t.equal((await keysUnder(inner)).length, 2_501, 'every key, over many SCAN rounds')
  })

  t.same(await keysUnder(inner), [], 'its keys are gone once it ended')
  t.same(await keysUnder(outer), [`${outer}kept`], 'the keys of another prefix are left alone')
})

t.test('deleteUnder takes a prefix literally, glob characters included', async t => {
  if (!await requireRedis(t)) return
  const redis = await connectRedis(t)
  const prefix = testPrefix(t)
  await redis.mSet([[`${prefix}a*b:1`, '1'], [`${prefix}a*b:2`, '2'], [`${prefix}axb:3`, '3'], [`${prefix}a?b:4`, '4']])

  t.same(await keysUnder(`${prefix}a*b:`), [`${prefix}a*b:1`, `${prefix}a*b:2`])
  t.equal(await deleteUnder(`${prefix}a*b:`), 2)
  t.same(await keysUnder(prefix), [`${prefix}a?b:4`, `${prefix}axb:3`], 'the others are still there')
  t.equal(await deleteUnder(`${prefix}nothing:`), 0)
})

t.test('a throwaway Redis: killed, it answers no more; restarted, it is back on its port, empty', async t => {
  if (!requireRedisBinaries(t)) return
  const redis = await ThrowawayRedis.start(t)
  t.not(redis.url, REDIS_URL, 'not the shared server')
  t.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/)
  const client = await connectRedis(t, redis.url)
  await client.set('key', 'value')
  t.equal(await client.get('key'), 'value')

  await redis.kill()
  t.equal(redis.running, false)
  t.equal(await redisAnswers(redis.url), false, 'nothing answers on its port')
  await t.rejects(redis.restart().then(() => redis.restart()), /still running/, 'restart() twice without kill() is refused')

  t.equal(redis.running, true)
  t.equal(await redisAnswers(redis.url), true, 'it answers on the same port')
  const again = await connectRedis(t, redis.url)
  t.equal(await again.get('key'), null, 'and has forgotten everything')
})
