/**
 * What the real CometD client must find wherever it connects: one server
 * (spec/e2e/clients/cometd.test.ts), nodes behind a round-robin balancer
 * (spec/e2e/cluster/cometd.test.ts) or workers sharing a port
 * (spec/e2e/cluster/workers.test.ts). Each runs these scenarios and adds its own.
 */
import type { Test } from 'tap'
import type { CometD } from 'cometd'
import { Inbox, deliversBetween, disconnect, handshake, newClient, publish, subscribe } from './cometd.ts'
import type { Transport } from './cometd.ts'

export interface CometdDeployment {
  /** The Bayeux URL clients connect to. */
  readonly url: string
  readonly transport: Transport
  /** Two clients of `url` over `transport`, handshaken; the server answers `/service/echo` with `{ echoed: data }`. */
  readonly alice: CometD
  readonly bob: CometD
  /** Whether the session `clientId` is gone, where the test can see the server's sessions. */
  readonly sessionGone?: (clientId: string) => boolean
}

/** Runs the scenarios as subtests of `t`, one after another. */
export async function cometdScenarios (t: Test, { url, transport, alice, bob, sessionGone }: CometdDeployment): Promise<void> {
  t.equal(alice.getTransport()!.type, transport, 'the client uses the transport under test')
  const handshakes: unknown[] = []
  for (const client of [alice, bob]) client.addListener('/meta/handshake', (message: unknown) => handshakes.push(message))

  await t.test('publish with ack, delivery to another client and to the publisher (C53, C59)', async t => {
    const atBob = new Inbox()
    const atAlice = new Inbox()
    await subscribe(bob, '/chat/room', atBob.listener)
    await subscribe(alice, '/chat/room', atAlice.listener)
    const ack = await publish(alice, '/chat/room', { text: 'hi' })
    t.equal(ack.successful, true, 'publish acked')
    await atBob.waitFor(1)
    await atAlice.waitFor(1)
    t.same(atBob.messages, [{ channel: '/chat/room', data: { text: 'hi' } }], 'C55-C57 once, with channel and data, no id or clientId')
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

  await t.test('a service channel remoteCall is answered where it lands (C65, C66)', async t => {
    const reply: any = await new Promise(resolve => alice.remoteCall('echo', { n: 7 }, 5000, resolve))
    t.equal(reply.successful, true)
    t.same(reply.data, { echoed: { n: 7 } })
  })

  await t.test('a publisher\'s messages keep their order, in one batch and one after another (C70)', async t => {
    const inbox = new Inbox()
    await subscribe(bob, '/order', inbox.listener)
    const end = new Inbox()
    await subscribe(bob, '/order-end', end.listener)
    alice.batch(() => {
      for (let i = 0; i < 5; i++) alice.publish('/order', i)
    })
    for (let i = 5; i < 20; i++) await publish(alice, '/order', i)
    // Events reach a session in publish order: once the marker is in, so is everything before it.
    await publish(alice, '/order-end', 'done')
    await end.waitFor(1)
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
    t.same(connects, [true, true, true], 'three held connects came back successful')
    t.match(await deliversBetween(alice, bob, '/after-cycles', 'still here'), { data: 'still here' }, 'delivery still works')
  })

  await t.test('disconnect (C71, C73)', async t => {
    const dave = newClient(url, transport)
    const hello = await handshake(dave)
    t.equal((await disconnect(dave)).successful, true)
    if (sessionGone !== undefined) t.ok(sessionGone(hello.clientId), 'the session is gone')
  })

  t.same(handshakes, [], 'no request sent a client back to handshake')
}
