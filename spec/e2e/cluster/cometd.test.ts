/**
 * Three bin/bayeux-server nodes on one Redis behind HAProxy's plain round-robin (issue
 * 10): any request on any node. The real CometD client over long-polling and
 * WebSocket, with the scenarios of spec/e2e/clients/cometd-scenarios.ts, and one raw client
 * whose consecutive requests are shown to land on different nodes.
 */
import t from 'tap'
import { request } from 'undici'
import { Haproxy, requireHaproxy } from '../../support/haproxy.ts'
import { Nodes } from '../../support/nodes.ts'
import { REDIS_URL, leftoverKeys, requireRedis, testPrefix } from '../../support/redis.ts'
import { handshake, newClient } from '../clients/cometd.ts'
import { cometdScenarios } from '../clients/cometd-scenarios.ts'
import type { Transport } from '../clients/cometd.ts'

if (await requireRedis(t) && requireHaproxy(t)) {
  const prefix = testPrefix(t)
  const nodes = await Nodes.start(t, 3, [
    '--redis', REDIS_URL, '--redis-prefix', prefix,
    // cometd-nodejs-client keeps one cookie jar per host, so every client looks like one browser.
    '--timeout', '400', '--max-interval', '2000', '--max-sessions-per-browser', '-1',
    '--require', 'spec/e2e/cluster/echo-service.mjs'
  ])
  const balancer = await Haproxy.start(t, nodes.addresses)
  const url = `${balancer.url}/cometd`

  t.test('consecutive requests of one client land on different nodes, and it works as on one node', async t => {
    const post = async (messages: object[], cookie?: string): Promise<{ node: string, body: any[], cookie: string | undefined }> => {
      const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(cookie !== undefined && { cookie }) }, body: JSON.stringify(messages) })
      const setCookie = response.headers['set-cookie']
      return { node: String(response.headers['x-served-by']), body: await response.body.json() as any[], cookie: typeof setCookie === 'string' ? setCookie.split(';')[0] : cookie }
    }
    const hello = await post([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }])
    const clientId = hello.body[0].clientId
    const cookie = hello.cookie
    const first = await post([{ channel: '/meta/connect', clientId, connectionType: 'long-polling' }], cookie)
    const subscribed = await post([{ channel: '/meta/subscribe', clientId, subscription: '/rr' }], cookie)
    const published = await post([{ channel: '/rr', clientId, data: 'anywhere' }], cookie)
    const second = await post([{ channel: '/meta/connect', clientId, connectionType: 'long-polling' }], cookie)
    const path = [hello, first, subscribed, published, second].map(step => step.node)
    t.equal(new Set(path.slice(0, 3)).size, 3, `handshake, connect and subscribe each on another node: ${path.join(' → ')}`)
    t.not(path[3], path[2], 'the publish on yet another node than the subscribe')
    t.equal(first.body[0].successful, true, 'the first connect, on another node than the handshake')
    t.equal(subscribed.body[0].successful, true, 'the subscribe, on a third node')
    t.equal(published.body[0].successful, true, 'the publish')
    t.same(second.body.filter(m => m.channel === '/rr'), [{ channel: '/rr', data: 'anywhere' }], 'the next connect, wherever it lands, carries the event once')
    t.equal(second.body.at(-1).successful, true)
    const stolen = await post([{ channel: '/meta/connect', clientId, connectionType: 'long-polling' }])
    t.match(stolen.body[0], { successful: false, error: '402::session_unknown' }, 'C100 on every node: the clientId without its browser cookie names no session')
  })

  for (const transport of ['long-polling', 'websocket'] as Transport[]) {
    t.test(transport, async t => {
      const before = await balancer.requests()
      const alice = newClient(url, transport)
      const bob = newClient(url, transport)
      t.teardown(() => { alice.disconnect(); bob.disconnect() })
      await handshake(alice)
      await handshake(bob)

      await cometdScenarios(t, { url, transport, alice, bob })

      const after = await balancer.requests()
      const served = after.map((count, i) => count - before[i]!)
      t.ok(served.every(count => count > 0), `every node served this client pair: ${served.join(', ')} requests`)
    })
  }

  t.test('when every session is gone, only the live nodes are left in Redis', async t => {
    t.same(await leftoverKeys(prefix), [], 'no session, subscription or interest key is left; the rest expires by itself')
  })
}
