/**
 * The real Faye Node client (faye 1.4) against the server, over long-polling and over
 * WebSocket (issue 2, docs/protocol.md §8). Checklist items of docs/protocol.md §9 are cited where
 * they apply. Faye always handshakes over HTTP, then moves to WebSocket when the
 * handshake reply lists it and the socket opens.
 */
import t from 'tap'
import { WsPeer, delay, expireSession, startServer } from '../../helpers.ts'
import type { Session } from '../../../lib/server/session.ts'
import type { RunningServer } from '../../../lib/index.ts'
import { Inbox } from './cometd.ts'
import type { Transport } from './cometd.ts'
import { clientIdOf, closeFaye, newFaye, subscribe } from './faye.ts'

const transports: Transport[] = ['long-polling', 'websocket']

/** Waits until the client's session has sent a connect over `transport` (bounded). */
async function connectedOver (server: RunningServer, client: any, transport: Transport): Promise<string | undefined> {
  for (let i = 0; i < 250; i++) {
    const session = server.bayeux.getSession(clientIdOf(client))
    if (session?.transport === transport) return transport
    await delay(20)
  }
  return server.bayeux.getSession(clientIdOf(client))?.transport
}

/** Resolves on the first `event` of the server for which `match` is true. */
function serverEvent (server: RunningServer, event: 'handshake' | 'subscribe' | 'unsubscribe' | 'disconnect', match: (...args: any[]) => boolean): Promise<any[]> {
  return new Promise(resolve => {
    const listener = (...args: any[]): void => {
      if (!match(...args)) return
      server.bayeux.off(event, listener)
      resolve(args)
    }
    server.bayeux.on(event, listener)
  })
}

for (const transport of transports) {
  t.test(transport, async t => {
    // Faye resends a message unanswered after 1.2 × advice.timeout: keep that well above
    // a loaded machine's latency.
    const server = await startServer(t, { timeout: 2000 })
    const alice = newFaye(server.url, transport)
    const bob = newFaye(server.url, transport)
    t.teardown(() => Promise.all([closeFaye(alice.client), closeFaye(bob.client)]))

    const atAlice = new Inbox()
    const atBob = new Inbox()
    await subscribe(alice.client, '/chat/to-alice', atAlice)
    await subscribe(bob.client, '/chat/to-bob', atBob)
    t.match(clientIdOf(alice.client), /^[0-9a-f]{40}$/, 'C15 C21 handshake succeeded with a 160-bit clientId')
    t.equal(await connectedOver(server, alice.client, transport), transport, `the server sees connects over ${transport}`)
    t.equal(alice.client._dispatcher.connectionType, transport, `Faye selected ${transport}`)
    // Faye sizes its wait for a held connect on the advice: it must be the server's hold
    // time, also after a first connect Faye batched with advice {timeout:0} (docs/protocol.md §4.3).
    t.equal(alice.client._advice.timeout, 2000, 'the advice Faye keeps is the server\'s timeout')

    await t.test('subscribe, publish and deliver both ways (C53, C55, C59)', async t => {
      await alice.client.publish('/chat/to-bob', { text: 'hi bob' })
      await bob.client.publish('/chat/to-alice', { text: 'hi alice' })
      await atBob.waitFor(1)
      await atAlice.waitFor(1)
      t.same(atBob.messages, [{ channel: '/chat/to-bob', data: { text: 'hi bob' } }])
      t.same(atAlice.messages, [{ channel: '/chat/to-alice', data: { text: 'hi alice' } }])
    })

    await t.test('a refused publish rejects the publication (C63)', async t => {
      await t.rejects(Promise.resolve(alice.client.publish('/meta/nope', 1)), 'publishing to /meta/ is refused')
    })

    await t.test('wildcards * and ** deliver one copy per session (C60, C61)', async t => {
      const one = new Inbox()
      const many = new Inbox()
      await subscribe(bob.client, '/wild/*', one)
      await subscribe(bob.client, '/wild/**', many)
      const before = bob.events.length
      await alice.client.publish('/wild/a', 1)
      await alice.client.publish('/wild/a/b', 2)
      await many.waitFor(2)
      t.same(one.data, [1], '/wild/* matches one segment only')
      t.same(many.data, [1, 2], '/wild/** matches deeper channels')
      t.same(bob.events.slice(before), ['/wild/a', '/wild/a/b'], 'the server sent each event once')
    })

    await t.test('unsubscribe stops delivery (C51)', async t => {
      const gone = new Inbox()
      const { subscription } = await subscribe(bob.client, '/gone', gone)
      await alice.client.publish('/gone', 'before')
      await gone.waitFor(1)
      const unsubscribed = serverEvent(server, 'unsubscribe', (session, channel) => session.id === clientIdOf(bob.client) && channel === '/gone')
      subscription.cancel()
      await unsubscribed
      const marker = new Inbox()
      await subscribe(bob.client, '/marker', marker)
      const before = bob.events.length
      await alice.client.publish('/gone', 'after')
      await alice.client.publish('/marker', 'done')
      await marker.waitFor(1)
      t.same(bob.events.slice(before), ['/marker'], 'the server sent nothing on /gone after the unsubscribe')
      t.same(gone.data, ['before'])
    })

    await t.test('re-handshakes and re-subscribes when the server drops its session (C26, C75)', async t => {
      const carol = newFaye(server.url, transport)
      t.teardown(() => closeFaye(carol.client))
      const inbox = new Inbox()
      await subscribe(carol.client, '/rejoined', inbox)
      const first = clientIdOf(carol.client)
      t.equal(await connectedOver(server, carol.client, transport), transport)
      // The session expires between two connects, as the sweeper would do it: just before
      // Faye sends its next connect, when none is held.
      let armed = true
      carol.client.addExtension({
        outgoing (message: any, callback: (message: any) => void) {
          if (armed && message.channel === '/meta/connect' && message.clientId === first) {
            armed = false
            expireSession(server.bayeux, first)
          }
          callback(message)
        }
      })
      const resubscribed = serverEvent(server, 'subscribe', (session, channel) => session.id !== first && channel === '/rejoined')
      // If a connect is held now: over long-polling an event releases it, over WebSocket
      // it ends at its timeout.
      server.bayeux.getSession(first)?.deliver('/wake-up', true)
      const [session] = await resubscribed
      t.not(session.id, first, 'a new session')
      t.equal(clientIdOf(carol.client), session.id, 'Faye uses the new clientId')
      t.equal(await connectedOver(server, carol.client, transport), transport, `back on ${transport}`)
      await alice.client.publish('/rejoined', 'welcome back')
      await inbox.waitFor(1)
      t.same(inbox.data, ['welcome back'], 'the new session receives events')
    })

    if (transport === 'websocket') {
      await t.test('C100 a socket carrying another browser\'s cookie cannot take over the session', async t => {
        const session = server.bayeux.getSession(clientIdOf(alice.client)) as Session
        t.type(session.browserId, 'string', 'the session was handshaken over HTTP, with a cookie')
        const intruder = await WsPeer.open(server.url, { headers: { cookie: 'BAYEUX_BROWSER=another' } })
        t.teardown(() => intruder.close())
        intruder.clientId = session.id
        const id = intruder.send({ channel: '/meta/subscribe', subscription: '/chat/to-alice' })
        t.match(await intruder.until(m => m['id'] === id), { successful: false, error: '402::session_unknown' })
      })
    }

    await t.test('disconnect ends the session (C71, C73)', async t => {
      const dave = newFaye(server.url, transport)
      await subscribe(dave.client, '/bye', new Inbox())
      const id = clientIdOf(dave.client)
      const ended = serverEvent(server, 'disconnect', session => session.id === id)
      await dave.client.disconnect()
      const [, reason] = await ended
      t.equal(reason, 'client')
      t.equal(server.bayeux.getSession(id), undefined, 'the session is gone')
      dave.client._dispatcher.close()
    })
  })
}
