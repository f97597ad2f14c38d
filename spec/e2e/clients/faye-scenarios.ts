/**
 * What the Faye Node client must find wherever it connects: one server
 * (spec/e2e/clients/faye.test.ts) or nodes behind a round-robin balancer
 * (spec/e2e/cluster/faye.test.ts). Each runs these scenarios and adds its own.
 */
import type { Test } from 'tap'
import { Inbox } from './cometd.ts'
import type { Transport } from './cometd.ts'
import { clientIdOf, closeFaye, newFaye, received, subscribe } from './faye.ts'
import type { WatchedFaye } from './faye.ts'

/** Two Faye clients and what they received on their own channels. */
export interface FayePair {
  readonly alice: WatchedFaye
  readonly bob: WatchedFaye
  /** Events on `/chat/to-alice` and `/chat/to-bob`. */
  readonly atAlice: Inbox
  readonly atBob: Inbox
}

/** Two Faye clients of `url` over `transport`, each subscribed to its own channel; closed when `t` ends. */
export async function fayePair (t: Test, url: string, transport: Transport): Promise<FayePair> {
  const alice = newFaye(url, transport)
  const bob = newFaye(url, transport)
  t.teardown(() => Promise.all([closeFaye(alice.client), closeFaye(bob.client)]))
  const atAlice = new Inbox()
  const atBob = new Inbox()
  await subscribe(alice.client, '/chat/to-alice', atAlice)
  await subscribe(bob.client, '/chat/to-bob', atBob)
  return { alice, bob, atAlice, atBob }
}

/**
 * Runs the scenarios as subtests of `t`, one after another; `sessionGone` says whether
 * the session `clientId` is gone, where the test can see the server's sessions.
 */
export async function fayeScenarios (t: Test, url: string, transport: Transport, { alice, bob, atAlice, atBob }: FayePair, sessionGone?: (clientId: string) => boolean): Promise<void> {
  t.match(clientIdOf(alice.client), /^[0-9a-f]{40}$/, 'C15 C21 handshake succeeded with a 160-bit clientId')

  await t.test('subscribe, publish and deliver both ways (C53, C55, C59)', async t => {
    await alice.client.publish('/chat/to-bob', { text: 'hi bob' })
    await bob.client.publish('/chat/to-alice', { text: 'hi alice' })
    await atBob.waitFor(1)
    await atAlice.waitFor(1)
    t.same(atBob.messages, [{ channel: '/chat/to-bob', data: { text: 'hi bob' } }])
    t.same(atAlice.messages, [{ channel: '/chat/to-alice', data: { text: 'hi alice' } }])
    t.equal(alice.client._dispatcher.connectionType, transport, `Faye uses ${transport}`)
  })

  await t.test('a refused publish rejects the publication (C63)', async t => {
    await t.rejects(Promise.resolve(alice.client.publish('/meta/nope', 1)), 'publishing to /meta/ is refused')
  })

  await t.test('wildcards * and ** deliver one copy per session (C60, C61)', async t => {
    const one = new Inbox()
    const many = new Inbox()
    await subscribe(bob.client, '/wild/*', one)
    await subscribe(bob.client, '/wild/**', many)
    const start = bob.events.length
    await alice.client.publish('/wild/a', 1)
    await alice.client.publish('/wild/a/b', 2)
    await many.waitFor(2)
    t.same(one.data, [1], '/wild/* matches one segment only')
    t.same(many.data, [1, 2], '/wild/** matches deeper channels')
    t.same(bob.events.slice(start), ['/wild/a', '/wild/a/b'], 'the server sent each event once')
  })

  await t.test('a publisher\'s messages arrive once each and in order (C70)', async t => {
    const inbox = new Inbox()
    await subscribe(bob.client, '/order', inbox)
    const start = bob.events.length
    // Faye sends publications made in one tick together, in one request.
    const batch = Array.from({ length: 5 }, (_, i) => alice.client.publish('/order', i))
    await Promise.all(batch)
    for (let i = 5; i < 20; i++) await alice.client.publish('/order', i)
    const end = new Inbox()
    await subscribe(bob.client, '/order-end', end)
    await alice.client.publish('/order-end', 'done')
    await end.waitFor(1)
    t.same(inbox.data, Array.from({ length: 20 }, (_, i) => i), 'every message once, in order')
    t.same(bob.events.slice(start), [...Array(20).fill('/order'), '/order-end'], 'the server sent nothing twice')
  })

  await t.test('unsubscribe stops delivery (C51)', async t => {
    const gone = new Inbox()
    const { subscription } = await subscribe(bob.client, '/gone', gone)
    await alice.client.publish('/gone', 'before')
    await gone.waitFor(1)
    const unsubscribed = received(bob.client, m => m.channel === '/meta/unsubscribe' && m.subscription === '/gone')
    subscription.cancel()
    t.equal((await unsubscribed).successful, true, 'the unsubscribe is acknowledged')
    const marker = new Inbox()
    await subscribe(bob.client, '/marker', marker)
    const start = bob.events.length
    await alice.client.publish('/gone', 'after')
    await alice.client.publish('/marker', 'done')
    await marker.waitFor(1)
    t.same(bob.events.slice(start), ['/marker'], 'the server sent nothing on /gone after the unsubscribe')
    t.same(gone.data, ['before'])
  })

  await t.test('held connects come back and are sent again (C30, C31)', async t => {
    // Nothing is published meanwhile: each of these connects ends at its timeout.
    const start = alice.connects.length
    await received(alice.client, m => m.channel === '/meta/connect')
    await received(alice.client, m => m.channel === '/meta/connect')
    t.same(alice.connects.slice(start), [true, true], 'two held connects in a row came back successful')
    await bob.client.publish('/chat/to-alice', 'still here')
    await atAlice.waitFor(2)
    t.same(atAlice.data.at(-1), 'still here', 'and the session still gets its events')
  })

  await t.test('no re-handshake, no failed request', async t => {
    for (const [name, watched] of Object.entries({ alice, bob })) {
      t.equal(watched.handshakes, 1, `${name} handshook once`)
      t.equal(watched.downs, 0, `${name}'s transport never went down`)
      t.ok(watched.connects.length >= 2 && watched.connects.every(successful => successful), `${name}'s ${watched.connects.length} connects all succeeded`)
    }
  })

  await t.test('disconnect is acknowledged (C71, C73)', async t => {
    const dave = newFaye(url, transport)
    await subscribe(dave.client, '/bye', new Inbox())
    const id = clientIdOf(dave.client)
    const disconnected = received(dave.client, m => m.channel === '/meta/disconnect')
    await dave.client.disconnect()
    t.equal((await disconnected).successful, true)
    if (sessionGone !== undefined) t.ok(sessionGone(id), 'the server ended the session, as the client asked')
    dave.client._dispatcher.close()
  })
}
