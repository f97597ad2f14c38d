/**
 * Two servers on a three-master Redis Cluster (`redis` + `redisCluster`, what
 * `--redis-cluster` sets, with its default three buses): a client's handshake,
 * subscribe and connect on different nodes, and a publish from a node's API, as on
 * one Redis.
 */
import t from 'tap'
import { HttpPeer, startServer } from '../../helpers.ts'
import { requireRedisBinaries } from '../../support/redis.ts'
import { RedisCluster } from '../../support/redis-cluster.ts'

t.test('servers on a Redis Cluster', async t => {
  if (!requireRedisBinaries(t)) return
  const cluster = await RedisCluster.start(t)
  const [a, b] = await Promise.all(cluster.nodes.slice(0, 2).map(node => startServer(t, { redis: node.url, redisCluster: true, timeout: 300 })))
  const onA = new HttpPeer(a!.url)
  await onA.connected()
  const onB = new HttpPeer(b!.url)
  onB.cookie = onA.cookie
  onB.clientId = onA.clientId
  t.match(await onB.send({ channel: '/meta/subscribe', subscription: '/sharded' }), [{ successful: true }], 'subscribed through B')
  await b!.bayeux.publish('/sharded', 'hello')
  const answer = await onB.send({ channel: '/meta/connect', connectionType: 'long-polling' })
  t.same(answer.filter(m => m['channel'] === '/sharded').map(m => m['data']), ['hello'], 'the connect on B took the session over, with the event')
  t.same([await a!.bayeux.countSessions(), await b!.bayeux.countSessions()], [1, 1])
  t.same([a!.bayeux.sessionCount, b!.bayeux.sessionCount], [0, 1], 'the session moved to B')
})
