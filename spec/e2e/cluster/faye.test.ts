/**
 * The Faye Node client through three bin/bayeux-server nodes on one Redis behind
 * HAProxy's plain round-robin (issue 10), over long-polling and over WebSocket: the
 * scenarios of spec/e2e/clients/faye-scenarios.ts where any request may land on any node.
 * Faye handshakes over HTTP, so over WebSocket too its session starts on one node and
 * moves to the one its socket reaches.
 */
import t from 'tap'
import { Haproxy, requireHaproxy } from '../../support/haproxy.ts'
import { Nodes } from '../../support/nodes.ts'
import { REDIS_URL, leftoverKeys, requireRedis, testPrefix } from '../../support/redis.ts'
import type { Transport } from '../clients/cometd.ts'
import { fayePair, fayeScenarios } from '../clients/faye-scenarios.ts'

if (await requireRedis(t) && requireHaproxy(t)) {
  const prefix = testPrefix(t)
  const nodes = await Nodes.start(t, 3, [
    '--redis', REDIS_URL, '--redis-prefix', prefix,
    // Faye resends a message unanswered after 1.2 × advice.timeout, and takes its
    // transport for down: a held connect has 0.2 × timeout to come back. Here a connect
    // that reaches another node moves the session first (a claim and a handover through
    // Redis, on two loaded processes): at 2000 (400 ms) that was once too little.
    '--timeout', '5000'
  ])
  const balancer = await Haproxy.start(t, nodes.addresses)
  const url = `${balancer.url}/cometd`

  for (const transport of ['long-polling', 'websocket'] as Transport[]) {
    t.test(transport, async t => {
      const before = await balancer.requests()
      await fayeScenarios(t, url, transport, await fayePair(t, url, transport))

      const after = await balancer.requests()
      const served = after.map((count, i) => count - before[i]!)
      t.ok(served.every(count => count > 0), `every node served these clients: ${served.join(', ')} requests`)
    })
  }

  t.test('when every session is gone, only the live nodes are left in Redis', async t => {
    t.same(await leftoverKeys(prefix), [], 'no session, subscription or interest key is left; the rest expires by itself')
  })
}
