/**
 * Servers on a three-master Redis Cluster (`redis` + `redisCluster`, what
 * `--redis-cluster` sets, with its default three buses): a client's handshake,
 * subscribe and connect on different nodes, and a publish from a node's API, as on
 * one Redis; and the publishes of many clients spread over the masters. One cluster
 * serves both tests.
 */
import { createClient } from '@redis/client'
import t from 'tap'
import { HttpPeer, startServer } from '../../helpers.ts'
import { requireRedisBinaries } from '../../support/redis.ts'
import { RedisCluster } from '../../support/redis-cluster.ts'

if (requireRedisBinaries(t)) {
  const cluster = await RedisCluster.start(t)

  t.test('servers on a Redis Cluster', async t => {
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

  t.test('the publishes of many clients, through two servers, spread over the masters', async t => {
    const redisPrefix = `spread-${process.pid}:`
    const servers = await Promise.all(cluster.nodes.slice(1).map(node => startServer(t, { redis: node.url, redisCluster: true, redisPrefix })))
    const clients = Array.from({ length: 16 }, (_, i) => new HttpPeer(servers[i % servers.length]!.url))
    for (const client of clients) {
      await client.handshake()
      t.match(await client.send({ channel: '/spread', data: 'hi' }), [{ successful: true }])
    }
    // Each bus logs its publishes, on the master that serves its hash tag. Sixteen random
    // session ids all on one of three buses: once in five million runs.
    const logged = await Promise.all(cluster.nodes.map(async ({ url }) => {
      const master = createClient({ url })
      master.on('error', () => {})
      await master.connect()
      t.teardown(() => master.destroy())
      let length = 0
      for await (const keys of master.scanIterator({ MATCH: `{${redisPrefix}*}log` })) {
        for (const key of keys) length += await master.xLen(key)
      }
      return length
    }))
    t.equal(logged.reduce((sum, length) => sum + length, 0), clients.length, `every publish logged once: ${logged.join(', ')}`)
    t.ok(logged.filter(length => length > 0).length > 1, 'on more than one master: each client\'s publishes go through the bus of its session')
  })
}
