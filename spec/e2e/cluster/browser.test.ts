/**
 * The real CometD client over callback-polling (JSONP) in headless Chromium, from a page
 * on another origin, through three bin/bayeux-server nodes on one Redis behind HAProxy's
 * plain round-robin (issue 10). Each script the page loads is one request the balancer
 * sends to the next node, so the session's connects move from node to node. Events come
 * from another client (the Node CometD client) and from application code on a node.
 */
import t from 'tap'
import { Haproxy, requireHaproxy } from '../../support/haproxy.ts'
import { Nodes } from '../../support/nodes.ts'
import { REDIS_URL, leftoverKeys, requireRedis, testPrefix } from '../../support/redis.ts'
import { callbackPollingClient, launchChromium, serveCometdPage } from '../../support/browser.ts'
import { Inbox, disconnect, handshake, newClient, publish, subscribe } from '../clients/cometd.ts'

/** A script the page loaded from the balancer: which node answered, and the channels it carried. */
interface Script { method: string, type: string, node: string, channels: string[] }

if (await requireRedis(t) && requireHaproxy(t)) {
  const prefix = testPrefix(t)
  // Chromium and the nodes each take seconds to start: both at once.
  const [browser, nodes] = await Promise.all([
    launchChromium(t),
    Nodes.start(t, 3, [
      '--redis', REDIS_URL, '--redis-prefix', prefix, '--timeout', '400',
      '--require', 'spec/e2e/cluster/announce-service.mjs'
    ])
  ])
  if (browser !== undefined) {
    const balancer = await Haproxy.start(t, nodes.addresses)
    const url = `${balancer.url}/cometd`

    const tab = await browser.newPage()
    const scripts: Script[] = []
    const waiting: Array<() => void> = []
    tab.on('response', response => {
      if (!response.url().startsWith(balancer.url)) return
      const messages = new URL(response.url()).searchParams.getAll('message').flatMap(text => JSON.parse(text))
      scripts.push({
        method: response.request().method(),
        type: response.request().resourceType(),
        node: response.headers()['x-served-by'] ?? '',
        channels: messages.map((message: { channel: string }) => message.channel)
      })
      for (const wake of waiting.splice(0)) wake()
    })
    /** The scripts that carried a message on `channel`. */
    const carrying = (channel: string): Script[] => scripts.filter(script => script.channels.includes(channel))
    /** The nodes that served `these` scripts. */
    const nodesOf = (these: Script[]): string[] => [...new Set(these.map(script => script.node))].sort()
    /** Resolves once `condition` holds, checked on each script the page gets from the balancer. */
    const until = async (condition: () => boolean): Promise<void> => {
      while (!condition()) await new Promise<void>(resolve => waiting.push(resolve))
    }

    t.test('the page handshakes, subscribes and keeps connecting, one script per node in turn', async t => {
      await tab.goto(await serveCometdPage(t, callbackPollingPage(url)))
      await tab.waitForFunction(() => (window as any).ready === true)
      // The page alone talks to the balancer now, so each of its requests goes to the
      // next node: of two connects in a row, each is answered by another node.
      await until(() => carrying('/meta/connect').length >= 4)
      t.equal(await tab.evaluate(() => (window as any).transport), 'callback-polling', 'the client uses callback-polling')
      t.ok(scripts.every(script => script.method === 'GET' && script.type === 'script'), `each of the ${scripts.length} Bayeux requests was a script GET`)
      t.same(nodesOf(scripts), ['n0', 'n1', 'n2'], 'the page\'s scripts were served by every node')
      t.ok(nodesOf(carrying('/meta/connect')).length >= 2, `its connects by several nodes: ${carrying('/meta/connect').map(script => script.node).join(', ')}`)
      const connects: boolean[] = await tab.evaluate(() => (window as any).connects)
      t.same(connects.filter(successful => !successful), [], `none of its ${connects.length} connect replies was a failure`)
    })

    t.test('events from another client arrive once each and in order (C53, C70)', async t => {
      const other = newClient(url, 'long-polling')
      t.teardown(() => other.disconnect())
      await handshake(other)
      for (let i = 0; i < 10; i++) await publish(other, '/browser/in', i)
      await tab.waitForFunction(() => (window as any).received.length >= 10)
      t.same(await tab.evaluate(() => (window as any).received), Array.from({ length: 10 }, (_, i) => i), 'every message once, in order')

      const fromPage = new Inbox()
      await subscribe(other, '/browser/out', fromPage.listener)
      t.match(await tab.evaluate(() => (window as any).publish('/browser/out', 'from the page')), { successful: true }, 'the page\'s publish is acked')
      await fromPage.waitFor(1)
      t.same(fromPage.data, ['from the page'], 'the other client gets the page\'s event')
      t.equal((await disconnect(other)).successful, true, 'the other client disconnects')
    })

    t.test('an event published by application code on a node reaches the page (C65, C66)', async t => {
      const reply = await tab.evaluate(() => (window as any).call('announce', { channel: '/browser/in', data: 'from a node' }))
      t.match(reply, { successful: true, data: { announced: '/browser/in' } }, 'the service call is answered')
      await tab.waitForFunction(() => (window as any).received.includes('from a node'))
      t.same((await tab.evaluate(() => (window as any).received)).slice(10), ['from a node'], 'once')
    })

    t.test('no re-handshake, and a disconnect wherever it lands (C71)', async t => {
      t.equal(await tab.evaluate(() => (window as any).handshakes), 1, 'one handshake: no node sent the page back to handshake')
      t.equal(carrying('/meta/handshake').length, 1, 'one handshake script')
      t.equal((await tab.evaluate(() => (window as any).disconnect())).successful, true, 'the page disconnects')
    })

    t.test('when every session is gone, only the live nodes are left in Redis', async t => {
      t.same(await leftoverKeys(prefix), [], 'no session, subscription or interest key is left; the rest expires by itself')
    })
  }
}

/** A page script that runs the cometd client over callback-polling only, and records what it sees. */
function callbackPollingPage (bayeuxUrl: string): string {
  return `${callbackPollingClient(bayeuxUrl)}
window.received = []
window.handshakes = 0
window.connects = []
cometd.addListener('/meta/handshake', () => { window.handshakes++ })
cometd.addListener('/meta/connect', message => { window.connects.push(message.successful) })
window.publish = (channel, data) => new Promise(resolve => cometd.publish(channel, data, resolve))
window.call = (target, data) => new Promise(resolve => cometd.remoteCall(target, data, 5000, resolve))
window.disconnect = () => new Promise(resolve => cometd.disconnect(resolve))
cometd.handshake(reply => {
  if (!reply.successful) return
  window.transport = cometd.getTransport().type
  cometd.subscribe('/browser/in', message => window.received.push(message.data), () => { window.ready = true })
})
`
}
