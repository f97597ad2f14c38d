/**
 * The replay extension in the core (lib/server/replay.ts, handlers.ts), through fake
 * links on the memory engine: the handshake offer, subscribe with -1, -2 and N, the
 * invalid-id error, where the id travels, the seam, wildcards, policy and bad input
 * (docs/replay.md).
 */
import t from 'tap'
import type { EventMessage, Message } from '../../lib/protocol/message.ts'
import { replayIdInvalid } from '../../lib/protocol/wire-errors.ts'
import { CoreHarness, flushed } from '../support/core-harness.ts'
import { FakePushLink, FakeRequestLink } from '../support/fake-links.ts'

const handshake = (extra: Partial<Message> = {}): Message => ({ id: 'h', channel: '/meta/handshake', version: '1.0', ...extra })

/** A session whose events are pushed to a fake WebSocket. */
async function client (h: CoreHarness): Promise<{ link: FakePushLink, clientId: string }> {
  const link = new FakePushLink()
  return { link, clientId: await h.connected(link) }
}

/** Subscribes with `ext.replay` = `replay`; the reply. */
async function subscribe (h: CoreHarness, c: { link: FakePushLink, clientId: string }, channel: string, replay?: unknown) {
  return h.reply(c.link, h.subscribe(c.clientId, channel, replay === undefined ? {} : { ext: { replay } }))
}

/** Publishes `data` from the server, one after the other. */
async function publishAll (h: CoreHarness, channel: string, values: unknown[]): Promise<void> {
  const publisher = await client(h)
  for (const data of values) {
    const reply = await h.reply(publisher.link, h.publish(publisher.clientId, channel, data))
    if (!reply.successful) throw new Error(reply.error)
  }
}

const ids = (events: EventMessage[]): number[] => events.map(event => (event.ext?.['replay'] as { id: number }).id)
const dataOf = (events: EventMessage[]): unknown[] => events.map(event => event.data)

t.test('the handshake says replay: true only when some channel keeps history', async t => {
  const on = await CoreHarness.start(t, { timesync: false, history: ['/h/**'] })
  t.same((await on.reply(new FakeRequestLink(), handshake())).ext, { replay: true })
  t.same((await on.reply(new FakeRequestLink(), handshake({ ext: { ack: true } }))).ext, { ack: true, replay: true })
  const off = await CoreHarness.start(t, { timesync: false })
  t.notOk('ext' in await off.reply(new FakeRequestLink(), handshake()))
})

t.test('-2 replays every kept event in order, then live ones; -1 and no entry only live ones', async t => {
  const h = await CoreHarness.start(t, { timesync: false, history: ['/h/**'] })
  await publishAll(h, '/h/a', [1, 2, 3])
  const all = await client(h)
  const reply = await subscribe(h, all, '/h/a', { '/h/a': -2, '/other': 5 })
  t.same(reply, { id: reply.id, channel: '/meta/subscribe', successful: true, subscription: '/h/a' })
  t.same(all.link.pushed, [], 'the replay goes out after the subscribe reply')
  const latest = await client(h)
  await subscribe(h, latest, '/h/a', { '/h/a': -1 })
  const none = await client(h)
  await subscribe(h, none, '/h/a', { '/h/b': -2 })
  await flushed()
  await publishAll(h, '/h/a', [4])
  await flushed()
  t.same(dataOf(all.link.pushed), [1, 2, 3, 4])
  const replayIds = ids(all.link.pushed)
  t.ok(replayIds.every((id, i) => Number.isSafeInteger(id) && id > 0 && (i === 0 || id > replayIds[i - 1]!)), `ids increase: ${replayIds.join(', ')}`)
  t.same(dataOf(latest.link.pushed), [4])
  t.same(dataOf(none.link.pushed), [4])
  t.same(ids(latest.link.pushed), [replayIds[3]], 'live events carry their id too')
})

t.test('N replays what came after N; N itself need not be kept; a gap or an id never issued is refused', async t => {
  const h = await CoreHarness.start(t, { timesync: false, history: ['/h/*'], historySize: 3 })
  const keptIds = async (): Promise<number[]> => (await h.core.engine.history('/h/a', undefined, 10))!.map(event => event.replayId!)
  await publishAll(h, '/h/a', [1, 2, 3])
  const [first, second] = await keptIds() as [number, number]
  await publishAll(h, '/h/a', [4, 5])
  const kept = await keptIds()
  t.equal(kept.length, 3, 'historySize bounds the history')
  const [third, fourth, fifth] = kept as [number, number, number]

  const resume = async (from: unknown): Promise<{ error: string | undefined, data: unknown[] }> => {
    const c = await client(h)
    const reply = await subscribe(h, c, '/h/a', { '/h/a': from })
    await flushed()
    return { error: reply.error, data: dataOf(c.link.pushed) }
  }
  t.same(await resume(fourth), { error: undefined, data: [5] })
  t.same(await resume(String(third)), { error: undefined, data: [4, 5] }, 'a numeric string works as well')
  t.same(await resume(fifth), { error: undefined, data: [] }, 'the latest: nothing to replay')
  t.same(await resume(second), { error: undefined, data: [3, 4, 5] }, 'the last event dropped: nothing after it is missing')
  t.same(await resume(first), { error: replayIdInvalid(first), data: [] }, 'an event after it was dropped to make room')
  t.same(await resume(fifth + 1), { error: replayIdInvalid(fifth + 1), data: [] }, 'beyond the latest')
  t.same(await resume(fourth - 1), { error: replayIdInvalid(fourth - 1), data: [] }, 'between two ids: never issued')
  t.equal(replayIdInvalid(7), '400::The replayId {7} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.')

  const refused = await client(h)
  await subscribe(h, refused, '/h/a', { '/h/a': 1 })
  await publishAll(h, '/h/a', [6])
  await flushed()
  t.same(refused.link.pushed, [], 'a refused subscribe leaves no subscription')
  t.same(h.session(refused.clientId).subscriptions, new Set())
})

t.test('the envelope: data.event.replayId, data.event.createdDate and data.payload, for every subscriber', async t => {
  const h = await CoreHarness.start(t, { timesync: false, replayEnvelope: ['/event/*'] })
  const live = await client(h)
  await subscribe(h, live, '/event/A')
  const before = Date.now()
  await publishAll(h, '/event/A', [{ x: 1 }])
  await flushed()
  const [event] = live.link.pushed as [EventMessage]
  const envelope = event.data as { event: { replayId: number, createdDate: string }, payload: unknown }
  t.same(envelope.payload, { x: 1 })
  t.ok(Number.isSafeInteger(envelope.event.replayId))
  t.ok(Date.parse(envelope.event.createdDate) >= before - 1 && envelope.event.createdDate.endsWith('Z'), envelope.event.createdDate)
  t.notOk('ext' in event, 'no ext.replay on envelope channels')
  const [entry] = (await h.core.engine.history('/event/A', undefined, 10))!
  t.same(entry.message, event, 'the history holds the event as delivered')
})
