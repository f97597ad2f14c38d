/**
 * spec/support/redis-cluster.ts: a three-master Redis Cluster of the test's own, which a
 * `createCluster` client uses as a whole: keys and sharded pub/sub on every shard.
 */
import t from 'tap'
import { createClient, createCluster } from '@redis/client'
import { requireRedisBinaries } from '../../support/redis.ts'
import { RedisCluster } from '../../support/redis-cluster.ts'

t.test('three masters, every slot served: SET/GET and SPUBLISH/SSUBSCRIBE reach all three shards', async t => {
  if (!requireRedisBinaries(t)) return
  const cluster = await RedisCluster.start(t)
  t.equal(cluster.nodes.length, 3)
  t.equal(new Set(cluster.nodes.map(node => node.port)).size, 3, 'on three ports')

  const client = createCluster({ rootNodes: cluster.rootNodes })
  client.on('error', () => {})
  await client.connect()
  t.teardown(() => client.destroy())
  const direct = await Promise.all(cluster.nodes.map(async ({ url }) => {
    const node = createClient({ url })
    node.on('error', () => {})
    await node.connect()
    t.teardown(() => node.destroy())
    return node
  }))

  const names = Array.from({ length: 30 }, (_, i) => `key:${i}`)
  for (const name of names) await client.set(name, `value of ${name}`)
  t.same(await Promise.all(names.map(name => client.get(name))), names.map(name => `value of ${name}`), 'every key reads back')
  const sizes = await Promise.all(direct.map(node => node.dbSize()))
  t.equal(sizes.reduce((sum, size) => sum + size, 0), names.length, 'each key is on one master')
  t.ok(sizes.every(size => size > 0), `every master holds some: ${sizes.join(', ')}`)

  const channels = Array.from({ length: 30 }, (_, i) => `channel:${i}`)
  const received: string[] = []
  let delivered = (): void => {}
  const all = new Promise<void>(resolve => { delivered = resolve })
  const listener = (message: string, channel: string): void => {
    received.push(`${channel} ${message}`)
    if (received.length === channels.length) delivered()
  }
  // One SSUBSCRIBE per channel: a command's channels must all be in one slot.
  await Promise.all(channels.map(channel => client.sSubscribe(channel, listener)))
  const subscribed = await Promise.all(direct.map(async node => (await node.sendCommand<string[]>(['PUBSUB', 'SHARDCHANNELS'])).length))
  t.equal(subscribed.reduce((sum, count) => sum + count, 0), channels.length, 'each channel subscribed on one master')
  t.ok(subscribed.every(count => count > 0), `every master has subscribed channels: ${subscribed.join(', ')}`)
  const reached = await Promise.all(channels.map(channel => client.sPublish(channel, `to ${channel}`)))
  t.same(reached, channels.map(() => 1), 'each SPUBLISH reached one subscriber')
  await all
  t.same(received.sort(), channels.map(channel => `${channel} to ${channel}`).sort(), 'every message delivered once')
})
