/**
 * The Redis engine on a three-master Redis Cluster (sharded channels, publishes spread
 * over three buses) passes the same contract kit as on one Redis, multi-node part
 * included; its publishes land on every master, and an acknowledge-extension client
 * whose node died gets back, from every bus's log, what it had not acknowledged. One
 * cluster serves every test.
 */
import t from 'tap'
import type { Test } from 'tap'
import type { EngineHost } from '../../lib/engines/engine.ts'
import { RedisEngine } from '../../lib/engines/redis.ts'
import type { RedisEngineOptions } from '../../lib/engines/redis.ts'
import { OutgoingEvent } from '../../lib/protocol/outgoing-event.ts'
import { delay } from '../helpers.ts'
import { connectRedis, requireRedisBinaries } from '../support/redis.ts'
import { RedisCluster } from '../support/redis-cluster.ts'
import { engineContract, historyHost } from './contract.ts'

if (requireRedisBinaries(t)) {
  const cluster = await RedisCluster.start(t)
  // Each node is given a different master to start from: they find the rest themselves.
  let next = 0
  const url = (): string => cluster.nodes[next++ % cluster.nodes.length]!.url
  engineContract(t, prefix => new RedisEngine({ url: url(), prefix: `${prefix}:`, cluster: true }), { nodes: true })

  /** An engine on the cluster whose host records what reaches each session, in order. */
  const node = async (t: Test, options: RedisEngineOptions, host: Partial<EngineHost> = {}): Promise<{ engine: RedisEngine, received: OutgoingEvent[] }> => {
    const engine = new RedisEngine({ url: url(), cluster: true, ...options })
    const received: OutgoingEvent[] = []
    await engine.start({ ...historyHost({ size: 0, ttl: 0 }), deliver: (_id, event) => received.push(event), ...host })
    t.teardown(() => engine.close())
    return { engine, received }
  }
  const until = async (done: () => boolean): Promise<void> => {
    for (let i = 0; i < 400 && !done(); i++) await delay(10)
  }
  const dataOf = (events: readonly OutgoingEvent[]): unknown[] => events.map(event => (event.message as { data: unknown }).data)

  /** The length of each master's logs under `prefix` (one a bus, on the master that serves its hash tag). */
  const logsPerMaster = async (t: Test, prefix: string): Promise<number[]> => await Promise.all(cluster.nodes.map(async ({ url }) => {
    const master = await connectRedis(t, url)
    let length = 0
    for await (const keys of master.scanIterator({ MATCH: `{${prefix}*}log` })) {
      for (const key of keys) length += await master.xLen(key)
    }
    return length
  }))

  t.test('the publishes of many sessions spread over the masters; with one bus, all sit on one', async t => {
    for (const buses of [3, 1]) {
      const prefix = `spread${buses}-${process.pid}:`
      const { engine, received } = await node(t, { prefix, buses })
      await engine.createSession('s', { ack: false })
      await engine.subscribe('s', '/spread')
      const publishers = Array.from({ length: 30 }, (_, i) => `session-${i}`)
      for (const [i, publisher] of publishers.entries()) await engine.publish(new OutgoingEvent({ channel: '/spread', data: i }), ['/spread', '/*', '/**'], publisher)
      await until(() => received.length === publishers.length)
      t.same(dataOf(received).sort((a, b) => Number(a) - Number(b)), publishers.map((_, i) => i), `${buses} bus(es): every event reached the session once`)
      const logs = await logsPerMaster(t, prefix)
      t.equal(logs.reduce((sum, length) => sum + length, 0), publishers.length, `${buses} bus(es): each publish logged once: ${logs.join(', ')}`)
      const carrying = logs.filter(length => length > 0).length
      if (buses === 3) t.equal(carrying, 3, 'every master carried publishes')
      else t.equal(carrying, 1, 'one master carried them all')
    }
  })

  t.test('an acknowledge-extension session whose node died gets back from every bus what its client had not acknowledged', async t => {
    const prefix = `ack-${process.pid}:`
    const a = await node(t, { prefix })
    const b = await node(t, { prefix })
    await a.engine.createSession('s', { ack: true })
    await a.engine.subscribe('s', '/ack')
    // Three publishers, on three buses, each publishing in turn.
    const sent = Array.from({ length: 12 }, (_, i) => i)
    for (const i of sent) await b.engine.publish(new OutgoingEvent({ channel: '/ack', data: i }), ['/ack', '/*', '/**'], `publisher-${i % 3}`)
    await until(() => a.received.length === sent.length)
    t.equal(a.received.length, sent.length)
    // The client got and acknowledged a first batch of five.
    const [batch, rest] = [a.received.slice(0, 5), a.received.slice(5)]
    await a.engine.batchSent('s', 1, batch)
    await a.engine.acknowledged('s', 1)
    await a.engine.batchSent('s', 2, rest)
    await a.engine.close()
    const claimed = await b.engine.claim('s', { socket: false, ack: 1 })
    const replayed = dataOf(claimed?.state?.queued ?? [])
    t.same([...replayed].sort((x, y) => Number(x) - Number(y)), dataOf(rest).sort((x, y) => Number(x) - Number(y)), 'the events after the acknowledged batch, once each')
    for (const p of [0, 1, 2]) {
      const mine = replayed.filter(i => Number(i) % 3 === p)
      t.same(mine, [...mine].sort((x, y) => Number(x) - Number(y)), `publisher-${p}'s in its order`)
    }
    t.same(claimed?.state?.unacked?.nextBatch, 2, 'its batches go on from the client\'s count')
  })
}
