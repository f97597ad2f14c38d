/**
 * Nodes killed with SIGKILL while numbered messages flow (issue 10): three nodes on one
 * Redis behind round-robin HAProxy, each killed in turn and started again, so that the
 * node holding every client's connect or WebSocket dies at least once. CometD clients
 * with the acknowledge extension lose nothing and get nothing twice, in order, on every
 * transport: long-polling and WebSocket from Node, callback-polling from a page in
 * headless Chromium; those without it recover by themselves. The publisher talks to a
 * fourth node, outside the balancer, so that what it publishes is not lost on its way in.
 */
import t from 'tap'
import { delay } from '../../helpers.ts'
import { Haproxy, requireHaproxy } from '../../support/haproxy.ts'
import { Nodes } from '../../support/nodes.ts'
import { REDIS_URL, requireRedis, testPrefix } from '../../support/redis.ts'
import { callbackPollingClient, launchChromium, serveCometdPage } from '../../support/browser.ts'
import { Inbox } from '../clients/cometd.ts'
import { numberPublisher, PUBLISHER_MAX_INTERVAL, subscribeOnEveryTransport } from './numbered-stream.ts'
import type { Browser } from 'playwright-core'
import type { Teardown } from '../../support/services.ts'

const COUNT = 1000
const CHANNEL = '/numbers'

if (await requireRedis(t) && requireHaproxy(t)) {
  const prefix = testPrefix(t)
  // Chromium and the nodes each take seconds to start: both at once.
  const [browser, nodes] = await Promise.all([
    launchChromium(t),
    Nodes.start(t, 4, [
      '--redis', REDIS_URL, '--redis-prefix', prefix,
      '--timeout', '2000', '--max-interval', String(PUBLISHER_MAX_INTERVAL), '--max-sessions-per-browser', '-1'
    ])
  ])
  const balancer = await Haproxy.start(t, nodes.addresses.slice(0, 3))
  const url = `${balancer.url}/cometd`

  // Callback-polling exists for browsers: the real client in a page on another origin,
  // set up while the Node clients are.
  const page = browser === undefined ? undefined : pageSubscriber(t, browser, url)
  // Every assertion at the end: tap may end the file's root test at an assertion that
  // leaves it nothing queued, and its teardowns would then stop the nodes mid-run.
  const subscribers = await subscribeOnEveryTransport(t, url, CHANNEL)
  const inChromium = await page
  if (inChromium !== undefined) subscribers.push({ name: 'callback-polling with acks, in Chromium', ack: true, inbox: inChromium.inbox })

  const publisher = await numberPublisher(nodes.urls[3]!, CHANNEL)
  let restarted: Promise<unknown> = Promise.resolve()
  // Ten a request, as a CometD client batches them; each node killed after a quarter of the stream.
  for (let i = 0; i < COUNT; i += 10) {
    if (i > 0 && i % 250 === 0) {
      // The one killed before is back in rotation: two nodes are always up.
      await restarted
      const victim = i / 250 - 1
      await nodes.kill(victim, 'SIGKILL')
      // Back on its port while the stream goes on; HAProxy's checks put it back in rotation.
      restarted = nodes.restart(victim).then(() => balancer.until(victim, 'UP'))
    }
    await publisher.publish(Array.from({ length: 10 }, (_, k) => i + k))
    await delay(10)
  }
  await restarted
  // Then one more a tick until every client has recovered: those without acks may
  // have lost any one of the numbered messages.
  let next = COUNT
  while (!subscribers.every(({ inbox }) => (inbox.data.at(-1) as number) >= COUNT - 1)) {
    await publisher.publish([next++])
    await delay(50)
  }

  const all = Array.from({ length: COUNT }, (_, i) => i)
  if (inChromium !== undefined) t.equal(inChromium.transport, 'callback-polling', 'the page uses callback-polling')
  for (const { name, ack, inbox } of subscribers) {
    const data = inbox.data as number[]
    const increasing = data.every((n, i) => i === 0 || n > data[i - 1]!)
    if (ack) {
      t.same(data.slice(0, COUNT), all, `${name}: all ${COUNT}, once each, in order`)
      t.ok(increasing, `${name}: what followed too`)
    } else {
      t.ok(increasing, `${name}: in order, none twice (${COUNT - data.filter(n => n < COUNT).length} lost in flight)`)
    }
  }
}

/** A page subscribed over callback-polling with acks: the transport its client settled on, and what it receives. */
async function pageSubscriber (t: Teardown, browser: Browser, url: string): Promise<{ transport: string, inbox: Inbox }> {
  const tab = await browser.newPage()
  const inbox = new Inbox()
  await tab.exposeFunction('received', (data: number) => inbox.listener({ channel: CHANNEL, data }))
  await tab.goto(await serveCometdPage(t, callbackPollingPage(url)))
  await tab.waitForFunction(() => (window as any).subscribed === true)
  return { transport: await tab.evaluate(() => (window as any).transport), inbox }
}

/** A page script: the cometd client over callback-polling with acks, handing each number to `window.received`. */
function callbackPollingPage (bayeuxUrl: string): string {
  return `${callbackPollingClient(bayeuxUrl, { ack: true })}
cometd.handshake(reply => {
  if (!reply.successful) return
  window.transport = cometd.getTransport().type
  cometd.subscribe(${JSON.stringify(CHANNEL)}, message => window.received(message.data), reply => { window.subscribed = reply.successful })
})
`
}
