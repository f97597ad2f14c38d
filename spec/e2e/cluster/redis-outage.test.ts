/**
 * Redis killed and started again empty (no persistence) under two nodes (issue 10):
 * while it is away a publish fails with a clear Bayeux error at once (nothing queues
 * up in memory) and the outage is logged once per node, not per message; once it is
 * back, the nodes put back the sessions and subscriptions they hold, and their
 * clients carry on without handshaking again.
 */
import t from 'tap'
import { request } from 'undici'
import { delay, HttpPeer, RecordingLogger, startServer } from '../../helpers.ts'
import { requireRedisBinaries, ThrowawayRedis } from '../../support/redis.ts'

t.test('Redis restarts empty under two nodes', async t => {
  if (!requireRedisBinaries(t)) return
  const redis = await ThrowawayRedis.start(t)
  const options = { redis: redis.url, redisPrefix: 'outage:', timeout: 300, maxInterval: 20_000 }
  const logs = [new RecordingLogger(), new RecordingLogger()]
  const a = await startServer(t, { ...options, logger: logs[0] as never })
  const b = await startServer(t, { ...options, logger: logs[1] as never })

  // A subscriber on node A; a publisher on node B, which also subscribes through A.
  const subscriber = new HttpPeer(a.url)
  await subscriber.handshake()
  await subscriber.connected()
  t.match(await subscriber.send({ channel: '/meta/subscribe', subscription: '/news' }), [{ successful: true }])
  const publisher = new HttpPeer(b.url)
  await publisher.handshake()
  await publisher.connected()
  const publish = async (data: unknown): Promise<unknown> => (await publisher.send({ channel: '/news', data }))[0]
  t.match(await publish('before'), { successful: true })
  t.match(await subscriber.send({ channel: '/meta/connect', connectionType: 'long-polling' }), [{ channel: '/news', data: 'before' }, { successful: true }])

  await redis.kill()
  const failed = await Promise.all(Array.from({ length: 20 }, (_, i) => publish(`lost ${i}`)))
  t.ok(failed.every(reply => (reply as { error?: string }).error === '503::engine_unavailable'), 'a publish that cannot reach Redis fails at once, and says why')
  t.match(await subscriber.send({ channel: '/meta/subscribe', subscription: '/other' }), [{ successful: false, error: '503::engine_unavailable' }], 'so does a subscribe')
  const ready = await request(new URL('/health/ready', a.url))
  t.same([ready.statusCode, await ready.body.text()], [503, 'engine unreachable\n'], 'readiness fails while Redis is away')
  for (const [i, log] of logs.entries()) {
    t.equal(log.at('warn').filter(line => /engine unavailable/.test(String(line.message))).length, 1, `node ${'AB'[i]} logged the outage once`)
    t.equal(log.at('error').length, 0, `node ${'AB'[i]} logged no error per message`)
  }

  await redis.restart()
  // Each node notices at its next heartbeat, and puts back what it holds.
  for (let i = 0; i < 200 && !logs.every(log => log.at('warn').some(line => /put back 1$/.test(String(line.message)))); i++) await delay(50)
  let reply: any
  for (let i = 0; i < 100; i++) {
    reply = await publish('after')
    if (reply.successful === true) break
    await delay(100)
  }
  t.match(reply, { successful: true }, 'publishing works again')
  t.equal((await request(new URL('/health/ready', a.url))).statusCode, 200, 'and is back with it')
  const again = await subscriber.send({ channel: '/meta/connect', connectionType: 'long-polling' })
  t.same(again.filter(message => message['channel'] === '/news').map(message => message['data']), ['after'], 'the subscription made before the outage came back with the session')
  for (const [i, log] of logs.entries()) {
    t.equal(log.at('info').filter(line => /engine available again/.test(String(line.message))).length, 1, `node ${'AB'[i]} logged the recovery once`)
  }
  t.match(await publisher.send({ channel: '/meta/subscribe', subscription: '/from-b' }), [{ successful: true }], 'the publisher\'s session, put back by node B, still works: no handshake needed')
  t.match(await subscriber.send({ channel: '/meta/subscribe', subscription: '/other' }), [{ successful: true }], 'the subscribe that failed succeeds when tried again')
})
