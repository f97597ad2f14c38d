/**
 * The real jsforce streaming client (jsforce 3, Faye 1.4 underneath) against the server as
 * against a Salesforce org (issue 11, docs/replay.md): `instanceUrl` http://127.0.0.1:<port>,
 * a dummy access token, `StreamingExtension.Replay`.
 *
 * What jsforce does, read from jsforce 3.10: it connects to `<instanceUrl>/cometd/<API version>`
 * (50.0 by default), which the server serves as `<path>/<anything>` (C79), over long-polling
 * (it selects that transport, and the server takes WebSocket upgrades on `<path>` only), with
 * `Authorization: OAuth <token>`, which the server ignores. `Replay(channel, id)` is on from the
 * start when given an id, and also turns on when a handshake reply has `ext.replay` == true;
 * every subscribe then carries `ext.replay: { <channel>: <id> }`, and an event on exactly that
 * channel with a truthy `data.event.replayId` becomes the id sent next (Faye re-subscribes by
 * itself after a re-handshake, so it resumes from there).
 */
import jsforce from 'jsforce'
import { StreamingExtension } from 'jsforce/lib/api/streaming.js'
import t from 'tap'
import { expireSession, startServer } from '../../helpers.ts'
import { publishNumbered, until } from './helpers.ts'
import { clientIdOf, closeFaye } from '../clients/faye.ts'

const HISTORY_SIZE = 10

const server = await startServer(t, { replayEnvelope: ['/event/**'], historySize: HISTORY_SIZE, maxSessionsPerBrowser: -1 })
const connection = new jsforce.Connection({ instanceUrl: new URL(server.url).origin, accessToken: 'dummy-token', version: '50.0' })

/** What one jsforce subscriber saw: every message, and the events of its channel in order. */
interface Watched { client: any, messages: any[], events: any[], subscribed: Promise<unknown> }

/** A jsforce Faye client replaying `channel` from `replayId`, subscribed to it; `extensions` come after the replay one. */
function subscriber (channel: string, replayId: number, extensions: object[] = []): Watched {
  const messages: any[] = []
  const events: any[] = []
  const record = { incoming (message: any, callback: (message: any) => void) { messages.push(message); callback(message) } }
  const client = connection.streaming.createClient([new StreamingExtension.Replay(channel, replayId), ...extensions, record])
  t.teardown(() => closeFaye(client))
  const subscription = client.subscribe(channel, (data: any) => events.push(data))
  // Faye's Subscription is a thenable: wrapped, so that awaiting `subscribed` does not unwrap it.
  const subscribed = new Promise((resolve, reject) => subscription.then(() => resolve(subscription), reject))
  return { client, messages, events, subscribed }
}

const publish = (channel: string, from: number, to: number): Promise<void> => publishNumbered(server, channel, from, to)

const payloads = (events: any[]): unknown[] => events.map(event => event.payload.n)
const ids = (events: any[]): number[] => events.map(event => event.event.replayId)
const increasing = (numbers: number[]): boolean => numbers.every((id, i) => Number.isInteger(id) && id > 0 && (i === 0 || id > numbers[i - 1]!))

t.test('-2 after events were published: all of them in order, then live ones', async t => {
  const channel = '/event/Order__e'
  await publish(channel, 1, 5)
  const watched = subscriber(channel, -2)
  await watched.subscribed
  const handshake = watched.messages.find(m => m.channel === '/meta/handshake')
  t.equal(handshake?.ext?.replay, true, 'the handshake reply offers replay')
  await until(() => watched.events.length >= 5)
  await publish(channel, 6, 7)
  await until(() => watched.events.length >= 7)
  t.same(payloads(watched.events), [1, 2, 3, 4, 5, 6, 7], 'retained events first, in order, then the live ones, none twice')
  t.ok(increasing(ids(watched.events)), `replay ids increase: ${ids(watched.events)}`)
  t.ok(watched.events.every(event => !Number.isNaN(Date.parse(event.event.createdDate))), 'each has an ISO 8601 createdDate')
})

t.test('a new client resumes from the last id the old one saw', async t => {
  const channel = '/event/Resume__e'
  const first = subscriber(channel, -1)
  await first.subscribed
  await publish(channel, 1, 3)
  await until(() => first.events.length >= 3)
  const last = ids(first.events).at(-1)!
  await closeFaye(first.client)
  await publish(channel, 4, 6)
  const second = subscriber(channel, last)
  await second.subscribed
  await until(() => second.events.length >= 3)
  await publish(channel, 7, 7)
  await until(() => second.events.length >= 4)
  t.same(payloads(first.events), [1, 2, 3])
  t.same(payloads(second.events), [4, 5, 6, 7], 'exactly what was missed, then live')
})

t.test('after the server expired its session, Faye re-subscribes from the last id jsforce saw', async t => {
  const channel = '/event/Expiry__e'
  // Holds the re-handshake until the events of the gap are published.
  let release = (): void => {}
  const gapPublished = new Promise<void>(resolve => { release = resolve })
  let handshakes = 0
  const hold = {
    outgoing (message: any, callback: (message: any) => void) {
      if (message.channel === '/meta/handshake' && ++handshakes > 1) void gapPublished.then(() => callback(message))
      else callback(message)
    }
  }
  const watched = subscriber(channel, -1, [hold])
  await watched.subscribed
  await publish(channel, 1, 2)
  await until(() => watched.events.length >= 2)
  expireSession(server.bayeux, clientIdOf(watched.client))
  await until(() => handshakes > 1)
  await publish(channel, 3, 5)
  release()
  await until(() => watched.events.length >= 5)
  await publish(channel, 6, 6)
  await until(() => watched.events.length >= 6)
  t.equal(handshakes, 2, 'one re-handshake')
  t.same(payloads(watched.events), [1, 2, 3, 4, 5, 6], 'nothing missed, nothing twice')
  const resubscribe = watched.messages.filter(m => m.channel === '/meta/subscribe')
  t.equal(resubscribe.length, 2, 'subscribed, then re-subscribed')
})

t.test('an id the server cannot resume from: Salesforce\'s invalid-id error', async t => {
  const channel = '/event/Gone__e'
  const live = subscriber(channel, -1)
  await live.subscribed
  await publish(channel, 1, HISTORY_SIZE + 2)
  await until(() => live.events.length >= HISTORY_SIZE + 2)
  const all = ids(live.events)
  // The first two events are no longer retained: after the first id, one is missing; the last
  // id plus 1000 was never issued.
  for (const replayId of [all[0]!, all.at(-1)! + 1000]) {
    const watched = subscriber(channel, replayId)
    const error = await watched.subscribed.then(() => undefined, (error: unknown) => error)
    t.ok(error !== undefined, `the subscribe from ${replayId} fails`)
    const reply = watched.messages.find(m => m.channel === '/meta/subscribe')
    t.equal(reply?.successful, false)
    t.equal(reply?.error, `400::The replayId {${replayId}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.`)
    t.same(watched.events, [], 'no partial replay')
  }
  const resumable = subscriber(channel, all[1]!)
  await resumable.subscribed
  await until(() => resumable.events.length >= HISTORY_SIZE)
  t.same(payloads(resumable.events), payloads(live.events).slice(2), 'from the id before the oldest retained event: every retained event')
})
