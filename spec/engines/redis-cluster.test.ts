/**
 * The Redis engine on a three-master Redis Cluster (sharded channels, publishes spread
 * over three buses) passes the same contract kit as on one Redis, multi-node part
 * included; its publishes land on every master, and an acknowledge-extension client
 * whose node died gets back, from every bus's log, what it had not acknowledged. One
 * cluster serves every test.
 */
import { createCluster } from '@redis/client'
import t from 'tap'
import type { Test } from 'tap'
import type { EngineHost } from '../../lib/engines/engine.ts'
import { RedisEngine, busOf } from '../../lib/engines/redis.ts'
import type { RedisEngineOptions } from '../../lib/engines/redis.ts'
import { busPrefixes, script } from '../../lib/engines/redis-connection.ts'
import { COPY, MOVE } from '../../lib/engines/redis-scripts.ts'
import { OutgoingEvent } from '../../lib/protocol/outgoing-event.ts'
import { delay } from '../helpers.ts'
import { connectRedis, requireRedisBinaries } from '../support/redis.ts'
import { RedisCluster } from '../support/redis-cluster.ts'
import { engineContract, historyHost } from './contract.ts'
import { queueNode, stoppableNode } from './redis-nodes.ts'

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
  /** Publishes `data` on `/h`, by one of three publishers, whose events go through three buses. */
  const publish = async (engine: RedisEngine, data: number): Promise<void> => {
    await engine.publish(new OutgoingEvent({ channel: '/h', data }), ['/h', '/*', '/**'], `publisher-${data % 3}`)
  }
  /** Whether `received` holds `sent` once each, each publisher's in order. */
  const inPublisherOrder = (received: readonly unknown[], sent: readonly number[]): boolean =>
    JSON.stringify([...received].sort((x, y) => Number(x) - Number(y))) === JSON.stringify(sent) &&
    [0, 1, 2].every(p => received.filter(i => Number(i) % 3 === p).every((i, n, mine) => n === 0 || Number(mine[n - 1]) < Number(i)))

  /** The length of each master's logs under `prefix` (one a bus, on the master that serves its hash tag). */
  const logsPerMaster = async (t: Test, prefix: string): Promise<number[]> => await Promise.all(cluster.nodes.map(async ({ url }) => {
    const master = await connectRedis(t, url)
    let length = 0
    for await (const keys of master.scanIterator({ MATCH: `{${prefix}*}log` })) {
      for (const key of keys) length += await master.xLen(key)
    }
    return length
  }))

  /** The master that serves bus `bus` of `prefix`: its process stopped (SIGSTOP) and resumed, resumed anyway when `t` ends. */
  const masterOf = async (t: Test, prefix: string, bus: number): Promise<{ stop: () => void, resume: () => void }> => {
    const tag = busPrefixes(prefix, 3, true)[bus]!
    for (const { url } of cluster.nodes) {
      const master = await connectRedis(t, url)
      // A master that does not serve the bus's slot answers MOVED.
      if (!await master.exists(`${tag}nodes`).then(() => true, () => false)) continue
      const pid = Number(/process_id:(\d+)/.exec(await master.info('server'))![1])
      const signal = (name: NodeJS.Signals) => (): void => { process.kill(pid, name) }
      t.teardown(signal('SIGCONT'))
      return { stop: signal('SIGSTOP'), resume: signal('SIGCONT') }
    }
    throw new Error(`no master serves ${tag}`)
  }
  /** The bus of publisher `data % 3` (publish). */
  const busOfData = (data: number): number => busOf(`publisher-${data % 3}`, 3)

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

  t.test('a node that would use other buses than the running nodes is refused when it starts', async t => {
    // Whatever the prefix: with one whose first bus is another hash tag with 2 buses than
    // with 3, the number was once kept where a node with 2 buses never looked.
    for (const [kind, differs] of [['the same', false], ['another', true]] as const) {
      let n = 0
      while ((busPrefixes(`agree${n}-${process.pid}:`, 3, true)[0] !== busPrefixes(`agree${n}-${process.pid}:`, 2, true)[0]) !== differs) n++
      const prefix = `agree${n}-${process.pid}:`
      await node(t, { prefix })
      const other = new RedisEngine({ url: url(), cluster: true, prefix, buses: 2 })
      await t.rejects(other.start(historyHost({ size: 0, ttl: 0 })), { code: 'BAYEUX_ERR_INVALID_OPTIONS', message: /use 3 buses, not 2/ }, `first bus on ${kind} hash tag with 2 buses`)
      await node(t, { prefix, buses: 3 })
      t.pass('one with the same buses starts')
    }
  })

  t.test('a node that finds, at a heartbeat, the others using another number of buses says so once', async t => {
    const prefix = `disagree-${process.pid}:`
    const warnings: string[] = []
    await node(t, { prefix, heartbeat: 50, detection: 1000 }, { warn: message => warnings.push(message) })
    // As when a node with 2 buses started at the same moment, and got there first.
    const client = createCluster({ rootNodes: cluster.rootNodes })
    client.on('error', () => {})
    await client.connect()
    t.teardown(() => client.destroy())
    await client.set(`{${prefix}}buses`, '2')
    await delay(300)
    t.same(warnings.filter(message => message.includes('another number of buses')).length, 1, 'once, not at each heartbeat')
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
    t.ok(inPublisherOrder(replayed, dataOf(rest).map(Number).sort((x, y) => x - y)), `the events after the acknowledged batch, once each, each publisher's in order: ${replayed.join(', ')}`)
    t.same(claimed?.state?.unacked?.nextBatch, 2, 'its batches go on from the client\'s count')
  })

  t.test('two moves of a session that reach a bus out of order: the later one moves the copy, the earlier one is skipped', async t => {
    const client = createCluster({ rootNodes: cluster.rootNodes })
    client.on('error', () => {})
    await client.connect()
    t.teardown(() => client.destroy())
    const bus = busPrefixes(`order-${process.pid}:`, 3, true)[1]!
    const run = async (text: string, ...args: string[]): Promise<unknown> => await client.eval(script(text, { cluster: true }).text, { keys: [`${bus}nodes`], arguments: [bus, ...args] })
    const told: string[] = []
    for (const node of ['A', 'B', 'C']) await client.sSubscribe(`${bus}n:${node}`, message => told.push(`${node} ${message.split('\n')[0]}`))
    await run(COPY, 's', 'A', '60000')
    const at = await run(MOVE, 's', 'C', '2', '60000')
    // A publish after the later move: its event went to the later claimer.
    await client.xAdd(`${bus}log`, '*', { k: '/x', m: 'after' })
    const skipped = await run(MOVE, 's', 'B', '1', '60000')
    for (let i = 0; i < 400 && told.length < 3; i++) await delay(5)
    t.same(told, ['A ls', 'C ms', 'B ks'], 'the first node lets go, the later claimer takes over, the earlier one is told it holds nothing here')
    t.equal(await client.hGet(`${bus}s:s`, 'node'), 'C', 'the copy stays with the later claimer')
    t.equal(skipped, at, 'the skipped move reads the log up to where the later one cut it')
  })

  t.test('a node that died: its interest goes on every bus, not only on the first', async t => {
    const prefix = `dead-${process.pid}:`
    const options = { cluster: true, prefix, heartbeat: 100, detection: 300 }
    const a = await stoppableNode(t, { ...options, url: url() })
    await queueNode(t, { ...options, url: url() })
    const client = createCluster({ rootNodes: cluster.rootNodes })
    client.on('error', () => {})
    await client.connect()
    t.teardown(() => client.destroy())
    const interest = async (): Promise<Array<string | undefined>> => await Promise.all(busPrefixes(prefix, 3, true).map(async bus => await client.hGet(`${bus}c:/h`, a.node) ?? undefined))
    t.same(await interest(), ['1', '1', '1'], 'its session\'s pattern counts for it on each bus')
    await a.kill()
    for (let i = 0; i < 400 && (await interest()).some(count => count !== undefined); i++) await delay(10)
    t.same(await interest(), [undefined, undefined, undefined], 'the sweep that found it dead removed it everywhere, before its session expires')
  })

  t.test('a shard that lost its keys gets back, at the next heartbeat, the sessions and interest of its buses', async t => {
    const prefix = `lost-${process.pid}:`
    const b = await queueNode(t, { cluster: true, prefix, heartbeat: 100, detection: 1000, url: url() })
    await b.engine.createSession('s', { ack: false })
    await b.engine.subscribe('s', '/h')
    b.queues.set('s', [])
    const [first, ...others] = busPrefixes(prefix, 3, true)
    // Every master but the first bus's restarts empty, as far as the engine can tell.
    for (const { url } of cluster.nodes) {
      const master = await connectRedis(t, url)
      // A master that does not serve the first bus's slot answers MOVED.
      if (!await master.exists(`${first}nodes`).then(() => true, () => false)) await master.flushAll()
    }
    const client = createCluster({ rootNodes: cluster.rootNodes })
    client.on('error', () => {})
    await client.connect()
    t.teardown(() => client.destroy())
    const interest = async (): Promise<Array<string | null>> => await Promise.all(others.map(async bus => await client.hGet(`${bus}c:/h`, b.engine.node)))
    for (let i = 0; i < 400 && (await interest()).some(count => count !== '1'); i++) await delay(10)
    t.same(await interest(), ['1', '1'], 'its interest is back on the other buses')
    for (const data of [0, 1, 2]) await publish(b.engine, data)
    for (let i = 0; i < 400 && b.queues.get('s')!.length < 3; i++) await delay(10)
    t.same(dataOf(b.queues.get('s')!).sort(), [0, 1, 2], 'publishes through every bus reach the session')
  })

  t.test('a session claimed again while it still moves takes along what its first node held on every bus', async t => {
    const prefix = `chain-${process.pid}:`
    const options = { cluster: true, prefix, heartbeat: 100, detection: 1000, handoverTimeout: 50 }
    const a = await stoppableNode(t, { ...options, url: url() })
    const [b, c] = [await queueNode(t, { ...options, url: url() }), await queueNode(t, { ...options, url: url() })]
    const client = createCluster({ rootNodes: cluster.rootNodes })
    client.on('error', () => {})
    await client.connect()
    t.teardown(() => client.destroy())
    const record = `${busPrefixes(prefix, 3, true)[0]}s:s`
    const holder = async (node: string): Promise<void> => {
      for (let i = 0; i < 400 && await client.hGet(record, 'node') !== node; i++) await delay(5)
    }
    const sent = Array.from({ length: 15 }, (_, i) => i)
    for (const i of sent.slice(0, 9)) await publish(c.engine, i)
    await a.queued(9)
    // Busy: it hands over late, once it runs again.
    a.stop()
    const toB = b.claim('s')
    await holder(b.engine.node)
    for (const i of sent.slice(9, 12)) await publish(c.engine, i)
    const toC = c.claim('s')
    await holder(c.engine.node)
    for (const i of sent.slice(12)) await publish(c.engine, i)
    a.resume()
    const [first, second] = await Promise.all([toB, toC])
    t.ok(sent.slice(0, 9).every(i => dataOf(first?.state?.queued ?? []).includes(i)), 'the first move brought what the first node held')
    const queued = dataOf(second?.state?.queued ?? [])
    t.ok(inPublisherOrder(queued, sent), `the second took it on with what came meanwhile, once each, each publisher's in order: ${queued.join(', ')}`)
    t.notOk(b.queues.has('s'), 'the middle node let it go')
  })

  t.test('a move that cannot reach a bus for a while goes on once it can, with every event', async t => {
    const prefix = `away-${process.pid}:`
    const options = { cluster: true, prefix, heartbeat: 100, detection: 1000, handoverTimeout: 50, commandTimeout: 200 }
    const [a, b] = [await queueNode(t, { ...options, url: url() }), await queueNode(t, { ...options, url: url() })]
    await a.engine.createSession('s', { ack: false })
    await a.engine.subscribe('s', '/h')
    a.queues.set('s', [])
    const sent = Array.from({ length: 12 }, (_, i) => i)
    for (const i of sent.slice(0, 6)) await publish(b.engine, i)
    await until(() => a.queues.get('s')!.length === 6)
    const away = 1
    const master = await masterOf(t, prefix, away)
    master.stop()
    const moving = b.claim('s')
    moving.catch(() => {})
    // Its record moved on the first bus, its copy on the bus away did not; publishes
    // through the other buses go on, to B.
    const later = sent.slice(6).filter(i => busOfData(i) !== away)
    for (const i of later) await publish(b.engine, i)
    // Several MOVEs time out meanwhile.
    await delay(4 * 200)
    master.resume()
    const claimed = await moving
    const queued = dataOf(claimed?.state?.queued ?? [])
    const expected = [...sent.slice(0, 6), ...later].sort((x, y) => x - y)
    t.ok(inPublisherOrder(queued, expected), `the session moved with every event, once each, each publisher's in order: ${queued.join(', ')}`)
    t.notOk(a.queues.has('s'), 'the node before let it go')
  })

  t.test('a move that cannot reach a bus until its deadline is given up: the node before ends the session at once', async t => {
    const prefix = `gone-${process.pid}:`
    const options = { cluster: true, prefix, heartbeat: 100, detection: 300, handoverTimeout: 50, commandTimeout: 200 }
    const ended: string[] = []
    const a = await queueNode(t, { ...options, url: url() }, { endSession: (id, reason) => ended.push(`${id} ${reason}`) })
    const b = await queueNode(t, { ...options, url: url() })
    await a.engine.createSession('s', { ack: false })
    await a.engine.subscribe('s', '/h')
    a.queues.set('s', [])
    const master = await masterOf(t, prefix, 1)
    master.stop()
    const claimed = await b.claim('s')
    await until(() => ended.length > 0)
    master.resume()
    t.equal(claimed, undefined, 'the claim found no session: its client gets 402 and handshakes again')
    t.same(ended, ['s server'], 'the node that held it ends it, with its events, without waiting for it to expire')
  })
}
