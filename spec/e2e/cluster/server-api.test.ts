/**
 * The server-side API across two nodes on one Redis (issue 10): publish from any node,
 * delivery to one session by id wherever it is, a cluster-wide session count, session
 * events fired once, service listeners on the node that got the call, and the browser
 * cookie checked on every node.
 */
import t from 'tap'
import { HttpPeer, startServer } from '../../helpers.ts'
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
