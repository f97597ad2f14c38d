import t from 'tap'
import type { Test } from 'tap'
import { RedisEngine } from '../../lib/engines/redis.ts'
import { OutgoingEvent } from '../../lib/protocol/outgoing-event.ts'
import { delay } from '../helpers.ts'
import { connectRedis, keysUnder, REDIS_URL, requireRedis, requireRedisBinaries, testPrefix, ThrowawayRedis } from '../support/redis.ts'
import { engineContract, historyHost, record } from './contract.ts'
import { dataOf, queueNode, stoppableNode } from './redis-nodes.ts'

t.test('options that cannot work are refused when the engine is made, before it connects', async t => {
  for (const url of ['127.0.0.1:6379', 'http://127.0.0.1:6379', 'redis://']) {
    t.throws(() => new RedisEngine({ url }), { code: 'BAYEUX_ERR_INVALID_OPTIONS', message: /url must be redis:/ }, url)
  }
  t.throws(() => new RedisEngine({ heartbeat: 2000, detection: 1000 }), { code: 'BAYEUX_ERR_INVALID_OPTIONS', message: /detection must be longer than heartbeat/ })
  for (const buses of [0, -1, 1.5, Number.NaN]) {
    t.throws(() => new RedisEngine({ cluster: true, buses }), { code: 'BAYEUX_ERR_INVALID_OPTIONS', message: /buses must be a positive integer/ }, `buses ${buses}`)
  }
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

/**
 * Waits until `engines` engines have both their connections back after a restart of Redis,
 * without a command of their own: each listener subscribed, each command connection open and
 * not yet used (redis-cli's ping, which the restart waited on, may still be listed). One more
 * round trip lets this process read the connections' opening before the test uses them.
 */
async function connectionsBack (client: Awaited<ReturnType<typeof connectRedis>>, engines: number): Promise<void> {
  const back = async (): Promise<boolean> => {
    const clients = await client.clientList()
    return clients.filter(({ sub }) => sub > 0).length >= engines && clients.filter(({ sub, cmd }) => sub === 0 && cmd === 'NULL').length >= engines
  }
  for (let i = 0; i < 1200 && !await back(); i++) await delay(25)
  await client.clientList()
}

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
  await connectionsBack(client, 2)

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

/**
 * An engine on a Redis of the test's own, with a 100 ms command timeout and no heartbeat in
 * the test's time (the only commands are the test's), and the statuses it reports.
 */
async function timedEngine (t: Test, prefix: string): Promise<{ redis: ThrowawayRedis, engine: RedisEngine, statuses: boolean[] }> {
  const redis = await ThrowawayRedis.start(t)
  const statuses: boolean[] = []
  const engine = new RedisEngine({ url: redis.url, prefix, heartbeat: 600_000, detection: 1_200_000, commandTimeout: 100 })
  await engine.start({ ...historyHost({ size: 0, ttl: 0 }), statusChanged: available => statuses.push(available) })
  t.teardown(() => engine.close())
  return { redis, engine, statuses }
}

t.test('a reply late because this process was held past the timeout is no outage (issue 10)', async t => {
  if (!requireRedisBinaries(t)) return
  const { engine, statuses } = await timedEngine(t, 'held:')
  for (const when of ['before', 'after'] as const) {
    // node-redis writes the command in an immediate queued before this one, or after it.
    // Held past the timeout, the process runs its timers before it reads the reply, as
    // when a large fan-out holds it.
    const hold = (): void => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300) }
    const late = engine.sessionCount()
    if (when === 'before') hold()
    else await new Promise<void>(resolve => setImmediate(() => { hold(); resolve() }))
    await t.rejects(late, { code: 'BAYEUX_ERR_ENGINE_UNAVAILABLE', message: /did not answer in time/ }, `held ${when} the command was written: it fails`)
    t.same([statuses, engine.reachable], [[], true], 'Redis answers: no outage')
  }
  t.equal(await engine.sessionCount(), 0, 'the next command goes through')
})

t.test('a node that stops cleanly removes the sessions that ended on it first, instead of leaving them as orphans (issue 10)', async t => {
  if (!requireRedisBinaries(t)) return
  // On disk: Redis comes back with the keys the failed destroy left behind.
  const redis = await ThrowawayRedis.start(t, ['--appendonly', 'yes', '--appendfsync', 'always'])
  const prefix = 'leaving:'
  const engine = new RedisEngine({ url: redis.url, prefix, heartbeat: 600_000, detection: 1_200_000 })
  await engine.start(historyHost({ size: 0, ttl: 0 }))
  t.teardown(() => engine.close())
  for (const id of ['ended', 'live']) await engine.createSession(id, { ack: false })
  await redis.kill()
  await t.rejects(engine.destroySession('ended'), { code: 'BAYEUX_ERR_ENGINE_UNAVAILABLE' })
  await redis.restart()
  const client = await connectRedis(t, redis.url)
  await connectionsBack(client, 1)
  await engine.close()
  t.same(await client.zRange(`${prefix}orphans`, 0, -1), ['live'], 'the live session is an orphan, for a connect elsewhere to take over')
  t.equal(await client.exists(`${prefix}s:ended`), 0, 'the one that ended is gone, not an orphan')
  t.same(await client.zRange(`${prefix}nodes`, 0, -1), [], 'and the node is gone')
})

t.test('a Redis that answers nothing behind its open sockets is an outage once its commands time out, reported once (issue 10)', async t => {
  if (!requireRedisBinaries(t)) return
  const { redis, engine, statuses } = await timedEngine(t, 'hung:')

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

async function publish (engine: RedisEngine, data: number): Promise<void> {
  await engine.publish(new OutgoingEvent({ channel: '/h', data }), ['/h'])
}

t.test('a handover later than handoverTimeout still comes whole, while its node is alive (issue 10)', async t => {
  if (!await requireRedis(t)) return
  const options = { url: REDIS_URL, prefix: testPrefix(t), heartbeat: 100, detection: 1000, handoverTimeout: 50 }
  const a = await stoppableNode(t, options)
  const b = await queueNode(t, options)
  for (const data of [1, 2, 3]) await publish(b.engine, data)
  await a.queued(3)
  a.stop()
  const claiming = b.claim('s')
  // Past several handover timeouts, well within three detection times.
  await delay(400)
  await publish(b.engine, 4)
  a.resume()
  const claimed = await claiming
  t.same(dataOf(claimed?.state?.queued), [1, 2, 3, 4], 'what the busy node held, then what came after the claim')
  t.same(claimed?.state?.attributes, { from: 'the stopped node' }, 'its state too')
})

t.test('a session claimed again while it still moves takes along what its first node held (issue 10)', async t => {
  if (!await requireRedis(t)) return
  const prefix = testPrefix(t)
  const options = { url: REDIS_URL, prefix, heartbeat: 100, detection: 1000, handoverTimeout: 50 }
  const a = await stoppableNode(t, options)
  const [b, c] = [await queueNode(t, options), await queueNode(t, options)]
  const redis = await connectRedis(t)
  const holder = async (node: string): Promise<void> => {
    for (let i = 0; i < 400 && await redis.hGet(`${prefix}s:s`, 'node') !== node; i++) await delay(5)
  }
  for (const data of [1, 2, 3]) await publish(c.engine, data)
  await a.queued(3)
  a.stop()
  const toB = b.claim('s')
  await holder(b.engine.node)
  const toC = c.claim('s')
  await holder(c.engine.node)
  a.resume()
  const [first, second] = await Promise.all([toB, toC])
  t.same(dataOf(first?.state?.queued), [1, 2, 3], 'the first move brought the queue')
  t.same(dataOf(second?.state?.queued), [1, 2, 3], 'and the second took it on, instead of an empty state')
  t.notOk(b.queues.has('s'), 'the middle node let it go')
})

t.test('a live node that never hands over: the claim gives up after three detection times, and the session ends (issue 10)', async t => {
  if (!await requireRedis(t)) return
  const options = { url: REDIS_URL, prefix: testPrefix(t), heartbeat: 100, detection: 300, handoverTimeout: 50 }
  // As if the claim's message was lost: the node keeps the session, and beats.
  const a = await queueNode(t, options, { release: () => { throw new Error('the claim never reached this node') } })
  const b = await queueNode(t, options)
  await a.engine.createSession('s', { ack: false })
  a.queues.set('s', [])
  t.equal(await b.claim('s'), undefined, 'unknown: the client handshakes again instead of carrying on without what the node held')
  t.equal(await b.engine.find('s'), undefined, 'ended')
  t.equal(b.engine.pendingDestroys, 0)
})

t.test('a node taken for dead lets go, when it comes back, of the sessions another node took over meanwhile (issue 10)', async t => {
  if (!await requireRedis(t)) return
  const prefix = testPrefix(t)
  const options = { url: REDIS_URL, prefix, heartbeat: 100, detection: 1000 }
  const released: string[] = []
  const a = await queueNode(t, options, { release: id => { released.push(id); return undefined } })
  const b = await queueNode(t, options)
  for (const id of ['taken', 'kept']) {
    await a.engine.createSession(id, { ack: false })
    await a.engine.subscribe(id, '/h')
    a.queues.set(id, [])
  }
  // The other nodes take it for dead (as after a network cut longer than the detection time).
  const redis = await connectRedis(t)
  await redis.zRem(`${prefix}nodes`, a.engine.node)
  t.ok(await b.claim('taken'), 'a connect elsewhere takes one of its sessions over')
  for (let i = 0; i < 400 && released.length === 0; i++) await delay(10)
  t.same(released, ['taken'], 'its next heartbeat finds it taken over: its copy here is let go, the other put back')
  await publish(b.engine, 1)
  for (let i = 0; i < 400 && (a.queues.get('kept')!.length === 0 || b.queues.get('taken')!.length === 0); i++) await delay(10)
  t.same([dataOf(a.queues.get('kept')), dataOf(b.queues.get('taken'))], [[1], [1]], 'each session gets the event on the node that holds it')
  t.same(dataOf(a.queues.get('taken')), [], 'and the copy let go gets nothing')
  t.same(await redis.sMembers(`${prefix}n:${a.engine.node}:sessions`), ['kept'])
})

/**
 * A Redis of the test's own where the engines logging in as `user` can have their
 * listener cut: `cut()` kills it (CLIENT KILL) with the user disabled (ACL), so that it
 * cannot come back, while their command connection stays; `restore()` lets it back.
 */
async function listenerCutter (t: Test, user: string): Promise<{ redis: ThrowawayRedis, url: string, cut: () => Promise<void>, restore: () => Promise<void> }> {
  const redis = await ThrowawayRedis.start(t)
  const admin = await connectRedis(t, redis.url)
  await admin.sendCommand(['ACL', 'SETUSER', user, 'on', `>${user}`, '~*', '&*', '+@all'])
  return {
    redis,
    url: `redis://${user}:${user}@127.0.0.1:${redis.port}`,
    cut: async () => {
      const listener = (await admin.clientList()).find(client => client.user === user && client.sub > 0)!
      await admin.sendCommand(['ACL', 'SETUSER', user, 'off'])
      await admin.sendCommand(['CLIENT', 'KILL', 'ID', String(listener.id)])
    },
    restore: async () => { await admin.sendCommand(['ACL', 'SETUSER', user, 'on']) }
  }
}

t.test('a node whose listener dropped while another took its session over lets its copy go once the listener is back, without ending it (issue 10)', async t => {
  if (!requireRedisBinaries(t)) return
  const { redis, url, cut, restore } = await listenerCutter(t, 'a')
  const options = { prefix: 'stale:', heartbeat: 100, detection: 1000 }
  const ended: string[] = []
  const host = { endSession: (id: string) => ended.push(id), orphanEnded: (id: string) => ended.push(id) }
  const a = await queueNode(t, { ...options, url }, host)
  const b = await queueNode(t, { ...options, url: redis.url })
  for (const id of ['taken', 'kept']) {
    await a.engine.createSession(id, { ack: false })
    await a.engine.subscribe(id, '/h')
    a.queues.set(id, [])
  }
  await cut()
  // A does not listen: the claim takes it for dead, and has nothing to tell it.
  t.ok(await b.claim('taken'), 'a connect on another node takes one of its sessions over')
  await restore()
  for (let i = 0; i < 400 && a.queues.has('taken'); i++) await delay(10)
  t.notOk(a.queues.has('taken'), 'once its listener is back, A lets its copy go')
  t.ok(a.queues.has('kept'), 'and keeps the other')
  t.same(ended, [], 'let go without ending it: no session event here')
  await publish(b.engine, 1)
  for (let i = 0; i < 400 && (a.queues.get('kept')!.length === 0 || b.queues.get('taken')!.length === 0); i++) await delay(10)
  t.same([dataOf(a.queues.get('kept')), dataOf(b.queues.get('taken'))], [[1], [1]], 'each session gets the event on the node that holds it')
})

t.test('a node whose listener dropped during its own claim gets the claim\'s marker again once the listener is back (issue 10)', async t => {
  if (!requireRedisBinaries(t)) return
  const { redis, url, cut, restore } = await listenerCutter(t, 'b')
  const options = { prefix: 'unmarked:', heartbeat: 100, detection: 1000 }
  const a = await queueNode(t, { ...options, url: redis.url })
  const b = await queueNode(t, { ...options, url })
  await a.engine.createSession('s', { ack: false })
  await a.engine.subscribe('s', '/h')
  // A leaves: its session is an orphan, which a claim takes without a handover.
  await a.engine.close()
  await cut()
  t.ok(await b.claim('s'), 'B takes the session over; the marker that makes it B\'s is lost')
  await restore()
  for (let i = 0; i < 400 && b.queues.get('s')!.length === 0; i++) {
    await publish(b.engine, i)
    await delay(10)
  }
  t.ok(b.queues.get('s')!.length > 0, 'once its listener is back, the events published after reach it')
})
