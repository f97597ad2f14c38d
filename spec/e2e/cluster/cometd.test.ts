/**
 * Three bin/bayeux-server nodes on one Redis behind HAProxy's plain round-robin (issue
 * 10): any request on any node. The real CometD client over long-polling and
 * WebSocket, with the scenarios of spec/e2e/clients/cometd.test.ts, and one raw client
 * whose consecutive requests are shown to land on different nodes.
 */
import t from 'tap'
import { request } from 'undici'
import { Haproxy, requireHaproxy } from '../../support/haproxy.ts'
import { Nodes } from '../../support/nodes.ts'
import { REDIS_URL, leftoverKeys, requireRedis, testPrefix } from '../../support/redis.ts'
import { delay } from '../../helpers.ts'
import { Inbox, deliversBetween, disconnect, handshake, newClient, publish, subscribe } from '../clients/cometd.ts'
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
      t.equal(alice.getTransport()!.type, transport, 'the client uses the transport under test')

      await t.test('publish with ack, delivery to another client and to the publisher (C53, C59)', async t => {
        const atBob = new Inbox()
        const atAlice = new Inbox()
        await subscribe(bob, '/chat/room', atBob.listener)
        await subscribe(alice, '/chat/room', atAlice.listener)
        const ack = await publish(alice, '/chat/room', { text: 'hi' })
        t.equal(ack.successful, true, 'publish acked')
        await atBob.waitFor(1)
        await atAlice.waitFor(1)
        t.same(atBob.messages, [{ channel: '/chat/room', data: { text: 'hi' } }], 'once, with channel and data')
      })

      await t.test('wildcards * and ** deliver one copy per session (C60, C61)', async t => {
        const one = new Inbox()
        const many = new Inbox()
        await subscribe(bob, '/wild/*', one.listener)
        await subscribe(bob, '/wild/**', many.listener)
        await publish(alice, '/wild/a', 1)
        await publish(alice, '/wild/a/b', 2)
        await many.waitFor(2)
        t.same(one.data, [1], '/wild/* matches one segment only')
        t.same(many.data, [1, 2], '/wild/** matches deeper channels, each once')
      })

      await t.test('service channel remoteCall resolves on whichever node gets it (C65, C66)', async t => {
        const reply: any = await new Promise(resolve => alice.remoteCall('echo', { n: 7 }, 5000, resolve))
        t.equal(reply.successful, true)
        t.same(reply.data, { echoed: { n: 7 } })
      })

      await t.test('a publisher\'s messages keep their order, in one batch and one after another (C70)', async t => {
        const inbox = new Inbox()
        await subscribe(bob, '/order', inbox.listener)
        alice.batch(() => {
          for (let i = 0; i < 5; i++) alice.publish('/order', i)
        })
        for (let i = 5; i < 20; i++) await publish(alice, '/order', i)
        await inbox.waitFor(20)
        await delay(300)
        t.same(inbox.data, Array.from({ length: 20 }, (_, i) => i), 'every message once, in order')
      })

      await t.test('unsubscribe stops delivery (C51)', async t => {
        const inbox = new Inbox()
        const subscription = await subscribe(bob, '/gone', inbox.listener)
        await publish(alice, '/gone', 'before')
        await inbox.waitFor(1)
        await new Promise(resolve => bob.unsubscribe(subscription, resolve))
        const marker = new Inbox()
        await subscribe(bob, '/marker', marker.listener)
        await publish(alice, '/gone', 'after')
        await publish(alice, '/marker', 'done')
        await marker.waitFor(1)
        t.same(inbox.data, ['before'], 'nothing after the unsubscribe')
      })

      await t.test('survives several held-connect cycles (C30, C31)', async t => {
        const connects: boolean[] = []
        await new Promise<void>(resolve => {
          const listener = alice.addListener('/meta/connect', (m: any) => {
            connects.push(m.successful)
            if (connects.length < 3) return
            alice.removeListener(listener)
            resolve()
          })
        })
        t.same(connects, [true, true, true], 'three held connects came back successful, wherever they landed')
        t.match(await deliversBetween(alice, bob, '/after-cycles', 'still here'), { data: 'still here' })
      })

      await t.test('no re-handshake happened', async t => {
        const handshakes: unknown[] = []
        alice.addListener('/meta/handshake', (m: unknown) => handshakes.push(m))
        await deliversBetween(bob, alice, '/late', 'ok')
        t.same(handshakes, [], 'not one 402 sent the client back to handshake')
      })

      await t.test('disconnect ends the session on every node (C71, C73)', async t => {
        const dave = newClient(url, transport)
        await handshake(dave)
        const reply = await disconnect(dave)
        t.equal(reply.successful, true)
      })

      const after = await balancer.requests()
      const served = after.map((count, i) => count - before[i]!)
      t.ok(served.every(count => count > 0), `every node served this client pair: ${served.join(', ')} requests`)
    })
  }

  t.test('when every session is gone, only the live nodes are left in Redis', async t => {
    t.same(await leftoverKeys(prefix), [], 'no session, subscription or interest key is left; the rest expires by itself')
  })
}
