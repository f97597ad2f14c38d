/**
 * The message pipeline (lib/server/pipeline.ts) without sockets: validation, incoming and
 * outgoing extensions, replies in request order in one response (C01), the handshake
 * answered alone (C12), and the lone-message path.
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import t from 'tap'
import type { EventMessage, Message, Reply } from '../../lib/protocol/message.ts'
import type { Extension } from '../../lib/server/extensions.ts'
import type { ServerSession } from '../../lib/server/session.ts'
import { CoreHarness, flushed } from '../support/core-harness.ts'
import { FakePushLink, FakeRequestLink, Responder } from '../support/fake-links.ts'

const isReply = (message: Reply | EventMessage): message is Reply => 'successful' in message

/** Records what diagnostics subscribers hear of bad input while `t` runs. */
function badInputs (t: { teardown (fn: () => void): void }): unknown[] {
  const heard: unknown[] = []
  const listener = (message: unknown): void => { heard.push(message) }
  diagnosticsChannel.subscribe('bayeux-server:bad-input', listener)
  t.teardown(() => diagnosticsChannel.unsubscribe('bayeux-server:bad-input', listener))
  return heard
}

t.test('C01 replies keep request order in one response, even when an async outgoing extension finishes them out of order', async t => {
  const finished: string[] = []
  let releaseFirst!: () => void
  const firstHeldBack = new Promise<void>(resolve => { releaseFirst = resolve })
  const slowFirst: Extension = {
    async outgoing (message) {
      if (!isReply(message)) return
      if (message.id === 'first') await firstHeldBack
      // The first reply is let go only once the last one is done.
      if (message.id === 'last') setImmediate(releaseFirst)
      finished.push(message.id!)
    }
  }
  const h = await CoreHarness.start(t, { timesync: false, extensions: [slowFirst] })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.handshake(link)
  finished.length = 0
  const answer = await h.ask(link, [
    h.publish(clientId, '/a', 1, { id: 'first' }),
    h.publish(clientId, '/a', 2, { id: 'middle' }),
    h.publish(clientId, '/a', 3, { id: 'last' })
  ])
  t.same(finished, ['middle', 'last', 'first'], 'the extension did finish out of order')
  t.same(answer.replies.map(reply => reply.id), ['first', 'middle', 'last'], 'replies in request order')
  t.ok(answer.replies.every(reply => reply.successful))
})

t.test('C83 a batch is answered in one response: events first, then every reply', async t => {
  const h = await CoreHarness.start(t, { timesync: false })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(link)
  await h.reply(link, h.subscribe(clientId, '/echo'))
  const answer = await h.ask(link, [
    h.publish(clientId, '/echo', 'mine', { id: 'p' }),
    h.connect(clientId, { id: 'c' })
  ])
  t.same(answer, {
    events: [{ channel: '/echo', data: 'mine' }],
    replies: [{ id: 'p', channel: '/echo', successful: true }, { id: 'c', channel: '/meta/connect', successful: true }]
  }, 'C59 the publisher gets its own event, in the batched connect\'s answer (C39: not held)')
})

t.test('C12 A11 a handshake batched with other messages is answered alone, the others ignored', async t => {
  const h = await CoreHarness.start(t, { timesync: false })
  const subscriber = new FakePushLink()
  const subscriberId = await h.connected(subscriber)
  await h.reply(subscriber, h.subscribe(subscriberId, '/a'))
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.handshake(link)
  const sessions = h.core.registry.size

  const answer = await h.ask(link, [
    { id: 'h', channel: '/meta/handshake', version: '1.0' },
    h.publish(clientId, '/a', 'after the handshake', { id: 'p' })
  ])
  t.match(answer, { events: [], replies: [{ id: 'h', channel: '/meta/handshake', successful: true }] })
  t.equal(answer.replies.length, 1, 'only the handshake is answered')
  t.equal(h.core.registry.size, sessions + 1, 'it made a session')
  await flushed()
  t.same(subscriber.pushes, [], 'the publish after it was not processed')
})

t.test('C12 A11 messages batched before a handshake are ignored too', async t => {
  const h = await CoreHarness.start(t, { timesync: false })
  const subscriber = new FakePushLink()
  const subscriberId = await h.connected(subscriber)
  await h.reply(subscriber, h.subscribe(subscriberId, '/a'))
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(link)
  h.session(clientId).deliver('/queued', 'waiting for a connect')

  const answer = await h.ask(link, [
    h.publish(clientId, '/a', 'before the handshake', { id: 'p' }),
    h.connect(clientId, { id: 'c' }),
    { id: 'h', channel: '/meta/handshake', version: '1.0' }
  ])
  t.match(answer, { events: [], replies: [{ id: 'h', channel: '/meta/handshake', successful: true }] }, 'the handshake is answered alone')
  t.equal(answer.replies.length, 1)
  await flushed()
  t.same(subscriber.pushes, [], 'the publish before it was not executed')
  t.match((await h.ask(link, [h.connect(clientId, { advice: { timeout: 0 } })])).events, [{ channel: '/queued' }],
    'the events a connect before it would have carried are not lost')
})

t.test('C12 C83 a handshake batched after messages whose replies an async outgoing extension holds up is still answered alone', async t => {
  const slowReplies: Extension = { async outgoing () { await flushed() } }
  const h = await CoreHarness.start(t, { timesync: false, extensions: [slowReplies] })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(link)
  h.session(clientId).deliver('/queued', 'waiting for a connect')
  const answer = await h.ask(link, [
    h.publish(clientId, '/a', 'before the handshake', { id: 'p' }),
    h.connect(clientId, { id: 'c' }),
    { id: 'h', channel: '/meta/handshake', version: '1.0' }
  ])
  t.match(answer.replies[0], { id: 'h', channel: '/meta/handshake', successful: true })
  t.same(answer.replies.map(reply => reply.id), ['h'], 'no other reply')
  t.same(answer.events, [], 'C83 nothing precedes a handshake reply')
})

t.test('invalid messages get the error of their field, the rest of the batch is processed, and the batch counts once as bad input', async t => {
  const heard = badInputs(t)
  const h = await CoreHarness.start(t, { timesync: false })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.handshake(link)
  const batch = [
    { id: 'a' },
    { id: 'b', channel: 5 },
    { id: 'not alphanumeric', channel: '/x', data: 1 },
    h.publish(clientId, '/valid', 1, { id: 'ok' }),
    { id: 'd', channel: '/meta/subscribe', clientId, subscription: [] },
    { id: 'e', channel: '/x', clientId: 7, data: 1 },
    { id: 'f', channel: '/x', clientId, data: 1, ext: 'not an object' },
    { id: 'g', channel: '/meta/connect', clientId, advice: { timeout: 'soon' } },
    'not a message'
  ]
  const answer = await h.ask(link, batch)
  t.same(answer.replies, [
    { id: 'a', successful: false, error: '400::channel_missing' },
    { id: 'b', successful: false, error: '405::channel_invalid' },
    { channel: '/x', successful: false, error: '405::message_id_invalid' },
    { id: 'ok', channel: '/valid', successful: true },
    { id: 'd', channel: '/meta/subscribe', successful: false, error: '403::subscription_invalid' },
    { id: 'e', channel: '/x', successful: false, error: '402::session_unknown' },
    { id: 'f', channel: '/x', successful: false, error: '400:ext:invalid_field' },
    { id: 'g', channel: '/meta/connect', successful: false, error: '400:advice:invalid_field' },
    { successful: false, error: '400:message:invalid_field' }
  ], 'C06 C07 C08 C09 C10: each keeps its place; an invalid id is not echoed')
  t.same(heard, [{ server: h.events, transport: 'long-polling', reason: 'invalid_message', message: 'invalid message', invalid: 8, total: 9 }], 'one bad-input event for the batch')
  t.match(h.log.at('warn'), [{ object: { reason: 'invalid_message', invalid: 8, total: 9, transport: 'long-polling', remoteAddress: '192.0.2.1' }, message: 'bad input: invalid message' }], 'logged once')

  const lone = await h.ask(link, [{ channel: '/meta/connect', id: 'x', clientId: 42 }])
  t.same(lone.replies, [{ id: 'x', channel: '/meta/connect', successful: false, error: '402::session_unknown' }], 'a lone invalid message too')
  t.equal(heard.length, 2)
  t.same(await h.ask(link, [h.publish(clientId, '/fine', 1, { id: 'y' })]), { events: [], replies: [{ id: 'y', channel: '/fine', successful: true }] })
  t.equal(heard.length, 2, 'valid payloads are not counted')
})

t.test('C26 C47 C67 a message from no known session: 402, and reconnect advice on a connect only', async t => {
  const h = await CoreHarness.start(t, { timesync: false })
  const link = new FakeRequestLink({ browserId: 'b' })
  t.same(await h.reply(link, { id: '1', channel: '/meta/connect', connectionType: 'long-polling' }),
    { id: '1', channel: '/meta/connect', successful: false, error: '402::session_unknown', advice: { reconnect: 'handshake', interval: 0 } })
  t.same(await h.reply(link, { id: '2', channel: '/meta/subscribe', clientId: 'gone', subscription: ['/a', '/b'] }),
    { id: '2', channel: '/meta/subscribe', successful: false, error: '402::session_unknown', subscription: ['/a', '/b'] }, 'C41 A28 subscription echoed')
  t.same(await h.reply(link, { id: '3', channel: '/meta/unsubscribe', clientId: 'gone' }),
    { id: '3', channel: '/meta/unsubscribe', successful: false, error: '402::session_unknown' })
  t.same(await h.reply(link, { id: '4', channel: '/a', data: 1 }), { id: '4', channel: '/a', successful: false, error: '402::session_unknown' }, 'A6 no publishing without a session')
  t.same(await h.reply(link, { id: '5', channel: '/meta/disconnect', clientId: 'gone' }), { id: '5', channel: '/meta/disconnect', successful: false, error: '402::session_unknown' })
})

t.test('§6.1 incoming extensions see each message with its session, and may change it', async t => {
  const seen: Array<[string, ServerSession | undefined]> = []
  const rewrite: Extension = {
    incoming (message) {
      seen.push([message.channel, undefined])
      if (message.channel === '/raw') return { ...message, channel: '/cooked', data: 'cooked' }
    }
  }
  const observe: Extension = {
    async incoming (message, session) {
      seen[seen.length - 1]![1] = session
      return message
    }
  }
  const h = await CoreHarness.start(t, { timesync: false, extensions: [rewrite, observe] })
  const subscriber = new FakePushLink()
  const subscriberId = await h.connected(subscriber)
  await h.reply(subscriber, h.subscribe(subscriberId, '/cooked'))
  t.match(seen.at(-1), ['/meta/subscribe', { id: subscriberId }], 'the session, for a message from a known client')
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.handshake(link)
  t.match(seen.at(-1), ['/meta/handshake', undefined], 'none for a handshake')
  t.match(await h.reply(link, h.publish(clientId, '/raw', 'raw', { id: 'r' })), { id: 'r', channel: '/cooked', successful: true }, 'the reply is to the changed message')
  await flushed()
  t.same(subscriber.pushed, [{ channel: '/cooked', data: 'cooked' }], 'the changed message was published')
})

t.test('C69 an incoming extension returning null deletes the message: 404::message_deleted, nothing done', async t => {
  const deleter: Extension = {
    incoming (message) {
      if (message.channel === '/meta/handshake' || message.data === 'drop') return null
    }
  }
  const later: Extension = { incoming () { throw new Error('never reached after a deletion') } }
  const h = await CoreHarness.start(t, { timesync: false })
  const subscriber = new FakePushLink()
  const subscriberId = await h.connected(subscriber)
  await h.reply(subscriber, h.subscribe(subscriberId, '/a'))
  h.core.addExtension(deleter)
  h.core.addExtension(later)
  t.same(await h.reply(subscriber, h.publish(subscriberId, '/a', 'drop', { id: 'd' })), { id: 'd', channel: '/a', successful: false, error: '404::message_deleted' })
  await flushed()
  t.same(subscriber.pushes, [], 'not published')
  const sessions = h.core.registry.size
  t.same(await h.reply(new FakeRequestLink(), { id: 'h', channel: '/meta/handshake' }), { id: 'h', channel: '/meta/handshake', successful: false, error: '404::message_deleted' })
  t.equal(h.core.registry.size, sessions, 'a deleted handshake makes no session')
  t.same(h.log.at('error'), [], 'later extensions were not run')
})

t.test('an extension that throws fails its message only: 500::internal_error', async t => {
  const faulty: Extension = {
    incoming (message) {
      if (message.data === 'sync') throw new Error('incoming bug')
      if (message.data === 'async') return Promise.reject(new Error('async incoming bug'))
    }
  }
  const h = await CoreHarness.start(t, { timesync: false, extensions: [faulty] })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.handshake(link)
  const answer = await h.ask(link, [
    h.publish(clientId, '/a', 'sync', { id: '1' }),
    h.publish(clientId, '/a', 'fine', { id: '2' }),
    h.publish(clientId, '/a', 'async', { id: '3' })
  ])
  t.same(answer.replies, [
    { id: '1', channel: '/a', successful: false, error: '500::internal_error' },
    { id: '2', channel: '/a', successful: true },
    { id: '3', channel: '/a', successful: false, error: '500::internal_error' }
  ])
  t.match(h.log.at('error'), [
    { object: { channel: '/a', err: { message: 'incoming bug' } }, message: 'failed to handle a message' },
    { object: { channel: '/a', err: { message: 'async incoming bug' } }, message: 'failed to handle a message' }
  ])
})

t.test('an outgoing extension that throws: the reply is written as it was, unextended', async t => {
  const stamp: Extension = {
    outgoing (message) {
      if (isReply(message)) return { ...message, ext: { stamped: true } }
    }
  }
  const faulty: Extension = {
    outgoing (message, _session, request) {
      if (!isReply(message)) return
      if (request?.data === 'sync') throw new Error('outgoing bug')
      if (request?.data === 'async') return Promise.reject(new Error('async outgoing bug'))
    }
  }
  // Outgoing hooks run in reverse order: the faulty one first, the stamp after it.
  const h = await CoreHarness.start(t, { timesync: false, extensions: [stamp, faulty] })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.handshake(link)
  const batch = await h.ask(link, [
    h.publish(clientId, '/a', 'sync', { id: '1' }),
    h.publish(clientId, '/a', 'fine', { id: '2' }),
    h.publish(clientId, '/a', 'async', { id: '3' })
  ])
  t.same(batch.replies, [
    { id: '1', channel: '/a', successful: true },
    { id: '2', channel: '/a', successful: true, ext: { stamped: true } },
    { id: '3', channel: '/a', successful: true }
  ])
  t.same(await h.reply(link, h.publish(clientId, '/a', 'async', { id: '4' })), { id: '4', channel: '/a', successful: true }, 'a lone message too')
  t.same(h.log.at('error').map(line => line.message), Array(3).fill('an outgoing extension failed'))
})

t.test('§6.1 an outgoing extension returning null drops that reply only', async t => {
  const dropper: Extension = {
    outgoing (message) {
      if (isReply(message) && message.id === 'hidden') return null
    }
  }
  const h = await CoreHarness.start(t, { timesync: false, extensions: [dropper] })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.handshake(link)
  const answer = await h.ask(link, [h.publish(clientId, '/a', 1, { id: 'hidden' }), h.publish(clientId, '/a', 2, { id: 'shown' })])
  t.same(answer.replies.map(reply => reply.id), ['shown'])
})

t.test('the lone-message path: one valid message is answered straight through respond', async t => {
  let releaseReply!: () => void
  const held = new Promise<void>(resolve => { releaseReply = resolve })
  const gated: Extension = {
    async outgoing (message, _session, request) {
      if (isReply(message) && request?.data === 'gated') await held
    }
  }
  const h = await CoreHarness.start(t, { timeout: 60_000, timesync: false, extensions: [gated] })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(link)

  const publish = h.send(link, [h.publish(clientId, '/a', 'gated', { id: 'g' })])
  let done = false
  void publish.done.then(() => { done = true })
  await flushed()
  t.equal(done, false, 'processing is not over while an async outgoing extension holds the reply')
  t.same(publish.responder.answers, [])
  releaseReply()
  await publish.done
  t.same(publish.responder.answers, [{ events: [], replies: [{ id: 'g', channel: '/a', successful: true }] }], 'over once the reply is written (socket payloads stay in order)')

  const connect = h.send(link, [h.connect(clientId)])
  await connect.done
  t.same(connect.responder.answers, [], 'a lone connect\'s processing ends when it is held, not when it is answered')
  h.session(clientId).deliver('/wake', 1)
  t.match(await connect.responder.answered, { events: [{ channel: '/wake' }], replies: [{ channel: '/meta/connect', successful: true }] })

  let releaseConnect!: () => void
  const connectGate = new Promise<void>(resolve => { releaseConnect = resolve })
  h.core.addExtension({
    async outgoing (message, _session, request) {
      if (isReply(message) && request?.channel === '/meta/connect' && request.advice?.timeout === 0) await connectGate
    }
  })
  const answeredAtOnce = h.send(link, [h.connect(clientId, { advice: { timeout: 0 } })])
  let connectDone = false
  void answeredAtOnce.done.then(() => { connectDone = true })
  await flushed()
  t.equal(connectDone, false, 'a connect answered at once, like any reply, is over only once an async extension has written it')
  releaseConnect()
  await answeredAtOnce.done
  t.equal(answeredAtOnce.responder.answers.length, 1, 'then its reply is written (a socket\'s next payload cannot overtake it)')
})

t.test('a lone connect of a session held here is processed without a promise, unless an incoming extension or a diagnostics subscriber is to be waited for', async t => {
  const h = await CoreHarness.start(t, { timeout: 60_000 })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(link)
  const answered = new Responder()
  t.equal(h.core.process([h.connect(clientId, { advice: { timeout: 0 } })], link, answered.respond), undefined, 'over when process returns')
  t.match(answered.answers, [{ replies: [{ channel: '/meta/connect', successful: true }] }], 'and answered')
  const held = new Responder()
  t.equal(h.core.process([h.connect(clientId)], link, held.respond), undefined, 'a connect held, too')
  t.same(held.answers, [])

  h.core.addExtension({ incoming: message => message })
  const extended = new Responder()
  const processing = h.core.process([h.connect(clientId, { advice: { timeout: 0 } })], link, extended.respond)
  t.ok(processing instanceof Promise, 'with an incoming extension, a promise')
  await processing
  t.match(held.answers, [{ replies: [{ channel: '/meta/connect', successful: true }] }], 'the held connect was superseded (C34)')
  t.match(extended.answers, [{ replies: [{ channel: '/meta/connect', successful: true }] }])
})

t.test('C98 a held connect\'s reply answers its timesync when released, after applications\' outgoing extensions', async t => {
  const seen: unknown[] = []
  const observe: Extension = {
    outgoing (message, _session, request) {
      if (isReply(message) && message.channel === '/meta/connect') seen.push({ ext: message.ext, request: request?.ext })
    }
  }
  const h = await CoreHarness.start(t, { timeout: 60_000, extensions: [observe] })
  const link = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(link)
  seen.length = 0
  const timesync = { tc: Date.now(), l: 0, o: 0 }
  const { responder, done } = h.send(link, [h.connect(clientId, { id: 'held', ext: { timesync } })])
  await done
  t.same(responder.answers, [], 'held')
  h.session(clientId).deliver('/a', 1)
  const { replies } = await responder.answered
  t.match(replies, [{ id: 'held', ext: { timesync: { tc: timesync.tc, ts: Number, p: Number, a: Number } } }])
  t.ok((replies[0]!.ext!['timesync'] as { p: number }).p >= 0)
  t.same(seen, [{ ext: undefined, request: { timesync } }], 'the application\'s extension saw the request, and the reply before timesync')
})

t.test('C98 the timesync extension is on unless the timesync option is off', async t => {
  const message: Message = { id: '1', channel: '/meta/handshake', version: '1.0', ext: { timesync: { tc: 1_000, l: 0, o: 0 } } }
  const on = await CoreHarness.start(t)
  t.match(await on.reply(new FakeRequestLink(), message), { ext: { timesync: { tc: 1_000, ts: Number, p: Number, a: Number } } })
  t.match(await on.reply(new FakeRequestLink(), { ...message, ext: { timesync: { tc: 1_000 } } }), { ext: { timesync: { tc: 1_000, ts: Number, p: Number } } }, 'a first sync, without lag and offset')
  t.notOk('ext' in await on.reply(new FakeRequestLink(), { ...message, ext: { timesync: 'no' } }), 'not a timesync request')
  t.notOk('ext' in await on.reply(new FakeRequestLink(), { ...message, channel: '/a', ext: { timesync: { tc: 1_000 } } }), 'meta messages only')

  // Frozen clock: the client's estimate (tc + o + l = ts) is good, so the server says nothing.
  const realNow = Date.now
  t.teardown(() => { Date.now = realNow })
  Date.now = () => 10_000
  const synced = await on.reply(new FakeRequestLink(), { ...message, ext: { timesync: { tc: 9_980, l: 10, o: 10 } } })
  Date.now = realNow
  t.notOk('ext' in synced, 'accurate within 25 ms: no timesync in the reply')

  const off = await CoreHarness.start(t, { timesync: false })
  t.notOk('ext' in await off.reply(new FakeRequestLink(), message))
})
