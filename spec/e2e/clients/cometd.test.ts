/**
 * The real CometD JavaScript client against the server, over long-polling and over
 * WebSocket (issue 2). Checklist items of docs/protocol.md §9 are cited where they apply.
 */
import t from 'tap'
import { expireSession, startServer } from '../../helpers.ts'
import { deliversBetween, handshake, newClient } from './cometd.ts'
import { cometdScenarios } from './cometd-scenarios.ts'
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

    await cometdScenarios(t, { url: server.url, transport, alice, bob, sessionGone: id => server.bayeux.getSession(id) === undefined })

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
  })
}
