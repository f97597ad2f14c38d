/**
 * The server-side API across two nodes on one Redis (issue 10): publish from any node,
 * delivery to one session by id wherever it is, a cluster-wide session count, session
 * events fired once (those of a killed node's sessions too), service listeners on the
 * node that got the call, the browser cookie checked on every node, and maxSessions
 * counted per cluster.
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import t from 'tap'
import { RedisEngine } from '../../../lib/engines/redis.ts'
import type { ServerSession } from '../../../lib/index.ts'
import { HttpPeer, startServer } from '../../helpers.ts'
import { Nodes } from '../../support/nodes.ts'
import { REDIS_URL, requireRedis, testPrefix } from '../../support/redis.ts'

/** A peer of `peer`'s session (its cookie and clientId) on another node. */
function sameClientOn (url: string, peer: HttpPeer): HttpPeer {
  const other = new HttpPeer(url)
  other.cookie = peer.cookie
  other.clientId = peer.clientId
  return other
}

t.test('the server API on two nodes', async t => {
  if (!await requireRedis(t)) return
  const options = { redis: REDIS_URL, redisPrefix: testPrefix(t), timeout: 300 }
  const a = await startServer(t, options)
  const b = await startServer(t, options)
  const events: string[] = []
  for (const [name, node] of [['A', a], ['B', b]] as const) {
    node.bayeux.on('handshake', () => events.push(`${name} handshake`))
    node.bayeux.on('subscribe', (_, channel) => events.push(`${name} subscribe ${channel}`))
    node.bayeux.on('disconnect', (_, reason) => events.push(`${name} disconnect ${reason}`))
  }
  b.bayeux.listen('/service/where', () => ({ answeredBy: 'B' }))

  const onA = new HttpPeer(a.url)
  await onA.connected()
  const onB = sameClientOn(b.url, onA)
  t.match(await onB.send({ channel: '/meta/subscribe', subscription: '/news' }), [{ successful: true }], 'subscribed through B, the session being on A')
  t.same([a.bayeux.sessionCount, b.bayeux.sessionCount], [1, 0], 'the session is held by A')
  t.same([await a.bayeux.countSessions(), await b.bayeux.countSessions()], [1, 1], 'both nodes count it')

  await b.bayeux.publish('/news', 'from B')
  t.equal(await b.bayeux.deliver(onA.clientId!, '/direct', 'just you'), true, 'delivered by id from the node that does not hold it')
  t.equal(await b.bayeux.deliver('0'.repeat(40), '/direct', 'nobody'), false, 'false for an unknown id')
  await t.rejects(b.bayeux.deliver(onA.clientId!, '/meta/connect', 1), { code: 'BAYEUX_ERR_INVALID_CHANNEL' })
  const delivered = await onA.send({ channel: '/meta/connect', connectionType: 'long-polling' })
  t.same(delivered.filter(m => m['data'] !== undefined).map(m => [m['channel'], m['data']]), [['/news', 'from B'], ['/direct', 'just you']])

  const answer = await onA.send({ channel: '/service/where', data: {} })
  t.match(answer, [{ successful: true }], 'a service call on A: no listener there, acknowledged only')
  t.match(await onB.send({ channel: '/service/where', data: {} }), [{ successful: true }, { channel: '/service/where', data: { answeredBy: 'B' } }], 'on B, B\'s listener answers')

  const stranger = new HttpPeer(b.url)
  stranger.clientId = onA.clientId
  t.match(await stranger.send({ channel: '/meta/subscribe', subscription: '/news' }), [{ successful: false, error: '402::session_unknown' }], 'C100 on B too: the clientId without its cookie is no session')

  t.match(await onB.send({ channel: '/meta/disconnect' }), [{ successful: true }], 'a disconnect through B')
  for (let i = 0; i < 100 && a.bayeux.sessionCount > 0; i++) await new Promise(resolve => setTimeout(resolve, 20))
  t.same(events, ['A handshake', 'B subscribe /news', 'A disconnect client'], 'each event once, on the node that did it')
  t.same([await a.bayeux.countSessions(), await b.bayeux.countSessions()], [0, 0])
})

/** A Redis engine that beats often and takes a silent node for dead soon, to keep these tests short. */
function quickEngine (prefix: string): RedisEngine {
  return new RedisEngine({ url: REDIS_URL, prefix, heartbeat: 100, detection: 500 })
}

/** Resolves once `engine` has run `count` more heartbeats. */
async function heartbeats (engine: RedisEngine, count: number): Promise<void> {
  await new Promise<void>(resolve => {
    let left = count
    const seen = (event: unknown): void => {
      const { engine: from, operation } = event as { engine: RedisEngine, operation: string }
      if (from !== engine || operation !== 'heartbeat' || --left > 0) return
      diagnosticsChannel.unsubscribe('bayeux-server:engine', seen)
      resolve()
    }
    diagnosticsChannel.subscribe('bayeux-server:engine', seen)
  })
}

t.test('a session of a killed node expires on one surviving node, which fires its disconnect event once', async t => {
  if (!await requireRedis(t)) return
  const prefix = testPrefix(t)
  const maxInterval = 1000
  const engines = [quickEngine(prefix), quickEngine(prefix)]
  const survivors = await Promise.all(engines.map(engine => startServer(t, { engine, maxInterval })))
  const victim = await Nodes.start(t, 1, ['--redis', REDIS_URL, '--redis-prefix', prefix])
  const ended: Array<{ node: number, session: ServerSession, reason: string, at: number }> = []
  const firstEnded = new Promise<void>(resolve => survivors.forEach((node, i) => node.bayeux.on('disconnect', (session, reason) => {
    ended.push({ node: i, session, reason, at: Date.now() })
    resolve()
  })))

  const client = new HttpPeer(victim.urls[0]!)
  await client.connected()
  t.match(await client.send({ channel: '/meta/subscribe', subscription: '/news' }), [{ successful: true }])
  t.equal(await survivors[0]!.bayeux.countSessions(), 1, 'the survivors count the session of the node about to die')
  const killedAt = Date.now()
  await victim.kill(0, 'SIGKILL')
  await firstEnded
  // Each survivor sweeps at every heartbeat: two more of each, and a second event would be in.
  await Promise.all(engines.map(engine => heartbeats(engine, 2)))
  t.equal(ended.length, 1, `once, on survivor ${ended[0]?.node}, ${ended[0]!.at - killedAt} ms after the kill`)
  t.equal(ended[0]?.reason, 'expired', 'with the reason of a session expiring on one node')
  t.equal(ended[0]?.session.id, client.clientId, 'the session, as its record and subscriptions show it')
  t.same([...ended[0]?.session.subscriptions ?? []], ['/news'])
  t.ok(ended[0]!.at - killedAt >= maxInterval, 'not before maxInterval has passed without a connect')
  t.same(await Promise.all(survivors.map(node => node.bayeux.countSessions())), [0, 0], 'gone from the count')
})

t.test('maxSessions counts the sessions of every node, as of the last heartbeat', async t => {
  if (!await requireRedis(t)) return
  const prefix = testPrefix(t)
  const engines = [quickEngine(prefix), quickEngine(prefix)]
  const [a, b] = await Promise.all(engines.map(engine => startServer(t, { engine, maxSessions: 2 })))
  const first = new HttpPeer(a!.url)
  await first.connected()
  await new HttpPeer(a!.url).connected()
  await heartbeats(engines[1]!, 2)
  t.match(await new HttpPeer(b!.url).handshake(), { successful: false, error: '503::too_many_sessions' }, 'B refuses a third session, both being on A')

  t.match(await first.send({ channel: '/meta/disconnect' }), [{ successful: true }])
  await heartbeats(engines[1]!, 2)
  t.match(await new HttpPeer(b!.url).handshake(), { successful: true }, 'B admits one once A holds one')
  await heartbeats(engines[0]!, 2)
  t.match(await new HttpPeer(a!.url).handshake(), { successful: false, error: '503::too_many_sessions' }, 'and A refuses the next one, B holding one')
})
