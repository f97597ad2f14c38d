/**
 * spec/e2e/cluster/failover.test.ts on a Redis Cluster (issue 10): three nodes on a
 * three-master cluster with three buses, behind round-robin HAProxy, each killed with
 * SIGKILL in turn and started again while numbered messages flow. Three publishers, one
 * on each bus, take turns, so that a client's events come through three buses and its
 * session moves bus by bus. CometD clients with the acknowledge extension lose nothing
 * and get nothing twice, each publisher's in order, over long-polling (whose session
 * moves on most connects) and WebSocket; those without it recover by themselves. The
 * publishers talk to a fourth node, outside the balancer.
 */
import t from 'tap'
import { busOf } from '../../../lib/engines/redis.ts'
import { delay } from '../../helpers.ts'
import { Haproxy, requireHaproxy } from '../../support/haproxy.ts'
import { Nodes } from '../../support/nodes.ts'
import { requireRedisBinaries } from '../../support/redis.ts'
import { RedisCluster } from '../../support/redis-cluster.ts'
import { numberPublisher, PUBLISHER_MAX_INTERVAL, subscribeOnEveryTransport } from './numbered-stream.ts'
import type { NumberPublisher } from './numbered-stream.ts'

const COUNT = 600
const CHANNEL = '/numbers'
const BUSES = 3
/** Messages a request; the publishers take turns, a request each. */
const BATCH = 10

/** The publisher of message `n`. */
const publisherOf = (n: number): number => Math.floor(n / BATCH) % BUSES

if (requireRedisBinaries(t) && requireHaproxy(t)) {
  const cluster = await RedisCluster.start(t)
  const nodes = await Nodes.start(t, 4, [
    '--redis', cluster.nodes[0]!.url, '--redis-cluster', '--redis-buses', String(BUSES),
    '--timeout', '2000', '--max-interval', String(PUBLISHER_MAX_INTERVAL), '--max-sessions-per-browser', '-1'
  ])
  const balancer = await Haproxy.start(t, nodes.addresses.slice(0, 3))
  const url = `${balancer.url}/cometd`

  const subscribers = await subscribeOnEveryTransport(t, url, CHANNEL)

  const publishers = await onEveryBus(nodes.urls[3]!)
  const publish = async (numbers: number[]): Promise<void> => { await publishers[publisherOf(numbers[0]!)]!.publish(numbers) }
  let restarted: Promise<unknown> = Promise.resolve()
  // Each node killed after a quarter of the stream.
  const quarter = COUNT / 4
  for (let i = 0; i < COUNT; i += BATCH) {
    if (i > 0 && i % quarter === 0) {
      // The one killed before is back in rotation: two nodes are always up.
      await restarted
      const victim = i / quarter - 1
      await nodes.kill(victim, 'SIGKILL')
      // Back on its port while the stream goes on, but for the last: two nodes serve the rest.
      if (victim < 2) restarted = nodes.restart(victim).then(() => balancer.until(victim, 'UP'))
    }
    await publish(Array.from({ length: BATCH }, (_, k) => i + k))
    await delay(10)
  }
  await restarted
  // Then one more a tick, each publisher in turn, until every client has recovered: those
  // without acks may have lost any of the numbered messages.
  // A message of every publisher after the stream: each bus delivers in order.
  const recovered = (data: number[]): boolean => publishers.every((_, p) => data.some(n => n >= COUNT && publisherOf(n) === p))
  for (let next = COUNT; !subscribers.every(({ inbox }) => recovered(inbox.data as number[])); next += BATCH) {
    await publish([next])
    await delay(50)
  }

  const all = Array.from({ length: COUNT }, (_, i) => i)
  for (const { name, ack, inbox } of subscribers) {
    const data = inbox.data as number[]
    const publisherOrder = [0, 1, 2].every(p => data.filter(n => publisherOf(n) === p).every((n, i, mine) => i === 0 || n > mine[i - 1]!))
    const once = new Set(data).size === data.length
    if (ack) {
      t.same(data.filter(n => n < COUNT).sort((x, y) => x - y), all, `${name}: all ${COUNT}, once each`)
      t.ok(once && publisherOrder, `${name}: each publisher's in order, and what followed too`)
    } else {
      t.ok(once && publisherOrder, `${name}: each publisher's in order, none twice (${COUNT - data.filter(n => n < COUNT).length} lost in flight)`)
    }
  }
}

/** One publishing client for each bus, on one node: sessions are handshaken until every bus has one. */
async function onEveryBus (url: string): Promise<NumberPublisher[]> {
  const publishers: NumberPublisher[] = []
  for (let tries = 0; publishers.filter(Boolean).length < BUSES; tries++) {
    if (tries === 200) throw new Error('no session on some bus after 200 handshakes')
    const publisher = await numberPublisher(url, CHANNEL)
    publishers[busOf(publisher.clientId, BUSES)] ??= publisher
  }
  return publishers
}
