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
import { fayePair, fayeScenarios } from './faye-scenarios.ts'

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
    const ended = new Map<string, string>()
    server.bayeux.on('disconnect', (session, reason) => ended.set(session.id, reason))
    const pair = await fayePair(t, server.url, transport)
    const { alice } = pair
    t.equal(await connectedOver(server, alice.client, transport), transport, `the server sees connects over ${transport}`)
    // Faye sizes its wait for a held connect on the advice: it must be the server's hold
    // time, also after a first connect Faye batched with advice {timeout:0} (docs/protocol.md §4.3).
    t.equal(alice.client._advice.timeout, 2000, 'the advice Faye keeps is the server\'s timeout')

    await fayeScenarios(t, server.url, transport, pair, id => server.bayeux.getSession(id) === undefined && ended.get(id) === 'client')

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
  })
}
