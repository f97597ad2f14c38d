/**
 * History and the replay extension across two nodes on one Redis (issue 11), with raw
 * HTTP requests: a client on node B replays what was published on node A, with ids the
 * same on both; resumes from an id; gets Salesforce's error for an id it cannot resume
 * from; and meets no duplicate or gap at the seam while A keeps publishing, also when its
 * session moves to the other node while its replay is read. Nothing but the history is
 * left in Redis.
 */
import t from 'tap'
import type { Engine } from '../../../lib/engines/engine.ts'
import type { Extension } from '../../../lib/index.ts'
import { RedisEngine } from '../../../lib/engines/redis.ts'
import { HttpPeer, startServer } from '../../helpers.ts'
import type { Json } from '../../helpers.ts'
import { connectRedis, keysUnder, leftoverKeys, REDIS_URL, requireRedis, testPrefix } from '../../support/redis.ts'

/** Long-polls as `peer` until `count` events of `channel` came, or the connects stop bringing any. */
async function collect (peer: HttpPeer, channel: string, count: number): Promise<Json[]> {
  const events: Json[] = []
  for (let idle = 0; events.length < count && idle < 20;) {
    const answer = await peer.send({ channel: '/meta/connect', connectionType: 'long-polling' })
    const got = answer.filter(message => message['channel'] === channel && message['data'] !== undefined)
    idle = got.length === 0 ? idle + 1 : 0
    events.push(...got)
  }
  return events
}

const payloads = (events: Json[]): unknown[] => events.map(event => event['data']['payload'])
const replayIds = (events: Json[]): number[] => events.map(event => event['data']['event']['replayId'])

t.test('replay across nodes', async t => {
  if (!await requireRedis(t)) return
  const prefix = testPrefix(t)
  const options = { redis: REDIS_URL, redisPrefix: prefix, timeout: 200, replayEnvelope: ['/event/**'], publishRate: 0 }
  const a = await startServer(t, options)
  const b = await startServer(t, options)

  for (let i = 1; i <= 5; i++) await a.bayeux.publish('/event/Order', { order: i })
  const kept = await b.bayeux.history('/event/Order')
  t.same(kept.map(entry => (entry.message.data as Json)['payload']['order']), [1, 2, 3, 4, 5], 'B reads the history A wrote')

  const all = new HttpPeer(b.url)
  const handshake = await all.handshake()
  t.same(handshake['ext'], { replay: true }, 'the handshake offers replay')
  await all.send({ channel: '/meta/connect', connectionType: 'long-polling', advice: { timeout: 0 } })
  const [subscribed] = await all.send({ channel: '/meta/subscribe', subscription: '/event/Order', ext: { replay: { '/event/Order': -2 } } })
  t.match(subscribed, { successful: true, subscription: '/event/Order' })
  const replayed = await collect(all, '/event/Order', 5)
  t.same(payloads(replayed), [1, 2, 3, 4, 5].map(order => ({ order })), 'every event published on A, in order')
  t.same(replayIds(replayed), kept.map(entry => entry.id), 'with the ids every node sees')
  t.match(replayed[0], { data: { event: { createdDate: /^\d{4}-\d\d-\d\dT/ } } })

  const resuming = new HttpPeer(b.url)
  await resuming.connected()
  const third = kept[2]!.id
  await resuming.send({ channel: '/meta/subscribe', subscription: '/event/Order', ext: { replay: { '/event/Order': third } } })
  t.same(payloads(await collect(resuming, '/event/Order', 2)), [{ order: 4 }, { order: 5 }], 'resumed after the third')

  const late = new HttpPeer(a.url)
  await late.connected()
  const [refused] = await late.send({ channel: '/meta/subscribe', subscription: '/event/Order', ext: { replay: { '/event/Order': kept[4]!.id + 1 } } })
  t.same(refused, {
    id: refused!['id'],
    channel: '/meta/subscribe',
    successful: false,
    subscription: '/event/Order',
    error: `400::The replayId {${kept[4]!.id + 1}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.`
  }, 'an id beyond the latest: Salesforce\'s error, on either node')

  const peers = [all, resuming, late]
  /** A session held on A, and a peer on B that speaks for it (its clientId and cookie). */
  const heldOnA = async (): Promise<HttpPeer> => {
    const onA = new HttpPeer(a.url)
    await onA.connected()
    const onB = new HttpPeer(b.url)
    onB.cookie = onA.cookie
    onB.clientId = onA.clientId
    peers.push(onB)
    return onB
  }
  await t.test('no duplicate or gap at the seam while A keeps publishing', async t => {
    const sent = Array.from({ length: 200 }, (_, i) => i)
    const progress = { published: 0 }
    let midway!: () => void
    const reached = new Promise<void>(resolve => { midway = resolve })
    const publishing = (async () => {
      for (const i of sent) {
        await a.bayeux.publish('/event/Seam', i)
        if (++progress.published === 60) midway()
      }
    })()
    await reached
    const peer = new HttpPeer(b.url)
    peers.push(peer)
    await peer.connected()
    await peer.send({ channel: '/meta/subscribe', subscription: '/event/Seam', ext: { replay: { '/event/Seam': '-2' } } })
    await publishing
    const got = await collect(peer, '/event/Seam', sent.length)
    t.same(payloads(got), sent, `every event once, in order (subscribed after at least 60 of ${sent.length})`)
    const ids = replayIds(got)
    t.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]!), 'ids increase')
  })

  await t.test('a replaying subscribe on the node that does not hold the session takes it over', async t => {
    const onB = await heldOnA()
    t.same([a.bayeux.sessionCount, b.bayeux.sessionCount].map(count => count > 0), [true, true])
    const before = b.bayeux.sessionCount
    const [reply] = await onB.send({ channel: '/meta/subscribe', subscription: '/event/Order', ext: { replay: { '/event/Order': third } } })
    t.match(reply, { successful: true })
    t.equal(b.bayeux.sessionCount, before + 1, 'the session moved to B')
    t.same(payloads(await collect(onB, '/event/Order', 2)), [{ order: 4 }, { order: 5 }], 'its replay arrives where it now lives')
  })

  await t.test('a replay that an application\'s incoming extension adds takes the session over too', async t => {
    // The client names where to resume in its own field; the application turns it into ext.replay.
    const addsReplay: Extension = {
      incoming (message) {
        const from = message.ext?.['resumeFrom']
        if (message.channel === '/meta/subscribe' && typeof from === 'number') message.ext = { ...message.ext, replay: { [message.subscription as string]: from } }
      }
    }
    b.bayeux.addExtension(addsReplay)
    t.teardown(() => b.bayeux.removeExtension(addsReplay))
    const onB = await heldOnA()
    const before = b.bayeux.sessionCount
    const [reply] = await onB.send({ channel: '/meta/subscribe', subscription: '/event/Order', ext: { resumeFrom: third } })
    t.match(reply, { successful: true })
    t.equal(b.bayeux.sessionCount, before + 1, 'the session moved to B')
    t.same(payloads(await collect(onB, '/event/Order', 2)), [{ order: 4 }, { order: 5 }], 'its replay arrives')
  })

  for (const peer of peers) await peer.send({ channel: '/meta/disconnect' })
  await a.close()
  await b.close()
  const history = (await keysUnder(prefix)).filter(key => key.startsWith(`${prefix}h:`))
  t.same(history, [`${prefix}h:/event/Order`, `${prefix}h:/event/Seam`, `${prefix}h:channels`].sort(), 'the history: a stream per channel, and the index')
  const redis = await connectRedis(t)
  for (const key of history) t.ok(await redis.pTTL(key) > 0, `${key} expires`)
  await redis.unlink(history)
  t.same(await leftoverKeys(prefix), [], 'nothing else is left')
})

t.test('the seam holds when the session moves to another node while its replay is read', async t => {
  if (!await requireRedis(t)) return
  const prefix = testPrefix(t)
  const options = { redisPrefix: prefix, timeout: 200, replayEnvelope: ['/event/**'], publishRate: 0 }
  // B reads history only when let: meanwhile the session moves to A, and A publishes.
  const slow = new RedisEngine({ url: REDIS_URL, prefix })
  const engine: Engine = slow
  const read = slow.history.bind(slow)
  let reading!: () => void
  const readStarted = new Promise<void>(resolve => { reading = resolve })
  let letRead!: () => void
  const readLet = new Promise<void>(resolve => { letRead = resolve })
  engine.history = async (pattern, after, limit) => {
    reading()
    await readLet
    return read(pattern, after, limit)
  }
  const a = await startServer(t, { ...options, redis: REDIS_URL })
  const b = await startServer(t, { ...options, engine: slow })
  for (const order of [1, 2]) await a.bayeux.publish('/event/Move', { order })

  const onB = new HttpPeer(b.url)
  await onB.connected()
  const subscribing = onB.send({ channel: '/meta/subscribe', subscription: '/event/Move', ext: { replay: { '/event/Move': -2 } } })
  await readStarted
  await a.bayeux.publish('/event/Move', { order: 3 })
  // The client's next connect lands on A, which takes the session over; B still reads.
  const onA = new HttpPeer(a.url)
  onA.cookie = onB.cookie
  onA.clientId = onB.clientId
  const connecting = onA.send({ channel: '/meta/connect', connectionType: 'long-polling' })
  while (a.bayeux.sessionCount === 0) await new Promise(resolve => setImmediate(resolve))
  for (const order of [4, 5]) await a.bayeux.publish('/event/Move', { order })
  letRead()
  t.match(await subscribing, [{ successful: true }])
  const first = (await connecting).filter(message => message['channel'] === '/event/Move')
  const events = [...first, ...await collect(onA, '/event/Move', 5 - first.length)]
  t.same(payloads(events), [1, 2, 3, 4, 5].map(order => ({ order })), 'the replay first, then live events, each once, on the node the session moved to')
  await onA.send({ channel: '/meta/disconnect' })
})
