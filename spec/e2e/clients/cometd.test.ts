/**
 * The real CometD JavaScript client against the server, over long-polling and over
 * WebSocket (issue 2). Checklist items of docs/protocol.md §9 are cited where they apply.
 */
import t from 'tap'
import { expireSession, startServer } from '../../helpers.ts'
import { Inbox, deliversBetween, disconnect, handshake, newClient, publish, subscribe } from './cometd.ts'
import type { Transport } from './cometd.ts'

const transports: Transport[] = ['long-polling', 'websocket']

for (const transport of transports) {
  t.test(transport, async t => {
    // cometd-nodejs-client keeps one cookie jar per host, so every client here looks like
    // one browser; unlimited held connects per browser keeps them all long-polling (C38).
    const server = await startServer(t, { timeout: 400, maxInterval: 2000, maxSessionsPerBrowser: -1 })
    server.bayeux.listen('/service/echo', message => ({ echoed: message.data }))

    const alice = newClient(server.url, transport)
    const bob = newClient(server.url, transport)
    t.teardown(() => { alice.disconnect(); bob.disconnect() })
    const aliceHello = await handshake(alice)
    await handshake(bob)
    t.equal(aliceHello.successful, true, 'C15 handshake succeeds')
    t.match(aliceHello.clientId, /^[0-9a-f]{40}$/, 'C21 clientId has 160 random bits')
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
      t.same(atBob.messages[0], { channel: '/chat/room', data: { text: 'hi' } }, 'C55-C57 event has channel and data, no id or clientId')
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

    await t.test('service channel remoteCall resolves (C65, C66)', async t => {
      const reply: any = await new Promise(resolve => alice.remoteCall('echo', { n: 7 }, 5000, resolve))
      t.equal(reply.successful, true)
      t.same(reply.data, { echoed: { n: 7 } })
    })

    await t.test('batch is delivered in order (C70)', async t => {
      const inbox = new Inbox()
      await subscribe(bob, '/batch', inbox.listener)
      alice.batch(() => {
        for (let i = 0; i < 5; i++) alice.publish('/batch', i)
      })
      await inbox.waitFor(5)
      t.same(inbox.data, [0, 1, 2, 3, 4])
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

    await t.test('re-handshakes after the server expires its session (C26, C75)', async t => {
      const carol = newClient(server.url, transport)
      t.teardown(() => carol.disconnect())
      const first = await handshake(carol)
      const second = new Promise<any>(resolve => carol.addListener('/meta/handshake', (m: any) => { if (m.successful && m.clientId !== first.clientId) resolve(m) }))
      expireSession(server.bayeux, first.clientId)
      const again = await second
      t.not(again.clientId, first.clientId, 'a new session')
      t.match(await deliversBetween(alice, carol, '/rejoined', 'welcome back'), { data: 'welcome back' }, 'the new session receives events')
    })

    await t.test('disconnect (C71, C73)', async t => {
      const dave = newClient(server.url, transport)
      const hello = await handshake(dave)
      const reply = await disconnect(dave)
      t.equal(reply.successful, true)
      t.equal(server.bayeux.getSession(hello.clientId), undefined, 'the session is gone')
    })
  })
}
