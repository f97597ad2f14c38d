/**
 * The protocol core (lib/server/bayeux-server.ts) driven over raw HTTP: the five
 * operations, their replies and their errors, item by item of docs/protocol.md §9.
 */
import t from 'tap'
import { HttpPeer, RecordingLogger, delay, startServer } from '../../helpers.ts'
import type { Json } from '../../helpers.ts'

t.test('envelope and message fields', async t => {
  const server = await startServer(t, { timeout: 300 })
  const peer = new HttpPeer(server.url)
  await peer.connected()

  await t.test('C01 a batch is processed in order; C09 C10 C11 ids, channels and booleans echoed', async t => {
    const answer = await peer.post([
      { id: 'a1', clientId: peer.clientId, channel: '/meta/subscribe', subscription: '/order' },
      { id: 'a2', clientId: peer.clientId, channel: '/order', data: 1 },
      { id: 'a3', clientId: peer.clientId, channel: '/meta/unsubscribe', subscription: '/order' }
    ])
    t.same(answer.messages.map(m => [m['id'], m['channel'], m['successful']]), [
      ['a1', '/meta/subscribe', true], ['a2', '/order', true], ['a3', '/meta/unsubscribe', true]
    ])
  })

  await t.test('C02 a single object is a one-message batch', async t => {
    const answer = await peer.post({ id: '9', clientId: peer.clientId, channel: '/single', data: 1 })
    t.equal(answer.status, 200)
    t.match(answer.messages, [{ id: '9', channel: '/single', successful: true }])
  })

  await t.test('C06 missing channel, C07 invalid channel, C08 invalid id', async t => {
    const answer = await peer.post([
      { id: '1', clientId: peer.clientId, data: 1 },
      { id: '2', clientId: peer.clientId, channel: '/bad//channel', data: 1 },
      { id: 'not valid!', clientId: peer.clientId, channel: '/x', data: 1 },
      { id: '4', clientId: peer.clientId, channel: 42, data: 1 }
    ])
    t.equal(answer.status, 200, 'Bayeux-level failures are HTTP 200')
    t.match(answer.messages, [
      { id: '1', successful: false, error: '400::channel_missing' },
      { id: '2', channel: '/bad//channel', successful: false, error: '405::channel_invalid' },
      { successful: false, error: '405::message_id_invalid' },
      { id: '4', successful: false, error: '405::channel_invalid' }
    ])
  })

  await t.test('C13 unknown top-level fields and C14 ext {} are accepted', async t => {
    const [reply] = await peer.send({ channel: '/tolerant', data: 1, ext: {}, timestamp: 'Tue, 05 Mar 2024 10:00:00 GMT', whatever: [1] })
    t.match(reply, { successful: true })
  })

  await t.test('wrong field types get the error of their field', async t => {
    const answer = await peer.post([
      { id: '1', clientId: peer.clientId, channel: '/x', data: 1, ext: 'nope' },
      { id: '2', clientId: 7, channel: '/x', data: 1 },
      { id: '3', clientId: peer.clientId, channel: '/meta/subscribe', subscription: 5 },
      { id: '4', clientId: peer.clientId, channel: '/meta/connect', advice: { timeout: 'soon' } }
    ])
    t.match(answer.messages, [
      { id: '1', error: '400:ext:invalid_field' },
      { id: '2', error: '402::session_unknown' },
      { id: '3', error: '403::subscription_invalid' },
      { id: '4', error: '400:advice:invalid_field' }
    ])
  })
})

t.test('handshake', async t => {
  const server = await startServer(t, { timeout: 300 })

  await t.test('C15-C19 reply fields, C20 no version needed, C25 ext not echoed', async t => {
    const peer = new HttpPeer(server.url)
    const answer = await peer.post([{ id: '1', channel: '/meta/handshake', ext: { secret: 'x' } }])
    const [reply] = answer.messages
    t.match(reply, {
      id: '1',
      channel: '/meta/handshake',
      successful: true,
      clientId: /^[0-9a-z]+$/,
      version: '1.0',
      minimumVersion: '1.0',
      supportedConnectionTypes: ['websocket', 'long-polling', 'callback-polling'],
      advice: { reconnect: 'retry', interval: 0, timeout: 300 }
    })
    t.notOk(reply!['ext'], 'the request ext is not echoed')
  })

  await t.test('C21 C22 every handshake gets a new clientId, even one carrying a clientId', async t => {
    const peer = new HttpPeer(server.url)
    const first = await peer.handshake()
    const second = await peer.handshake({ clientId: first['clientId'] })
    t.not(second['clientId'], first['clientId'])
  })

  await t.test('C12 a handshake batched with other messages is answered alone', async t => {
    const peer = new HttpPeer(server.url)
    const answer = await peer.post([
      { id: '1', channel: '/meta/handshake', version: '1.0' },
      { id: '2', channel: '/meta/subscribe', subscription: '/x' }
    ])
    t.equal(answer.messages.length, 1)
    t.match(answer.messages[0], { id: '1', successful: true })
  })

  await t.test('C23 a handshake refused by policy', async t => {
    const guarded = await startServer(t, { policy: { canHandshake: async (_session, message) => message.ext?.['token'] === 'good' } })
    const refused = (await new HttpPeer(guarded.url).post([{ id: '1', channel: '/meta/handshake', ext: { token: 'bad' } }])).messages[0]!
    t.match(refused, { id: '1', successful: false, error: '403::handshake_denied', advice: { reconnect: 'none' } })
    t.notOk('clientId' in refused, 'no clientId')
    t.equal(guarded.bayeux.sessionCount, 0, 'no session kept')
    const accepted = (await new HttpPeer(guarded.url).post([{ id: '1', channel: '/meta/handshake', ext: { token: 'good' } }])).messages[0]!
    t.match(accepted, { successful: true })
  })

  await t.test('a handshake sharing no connection type with the server is refused, naming the server\'s (A26)', async t => {
    const pollingOnly = await startServer(t, { transports: ['long-polling', 'callback-polling'] })
    const [refused] = (await new HttpPeer(pollingOnly.url).post([{ id: '1', channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['websocket', 'flash'] }])).messages
    t.match(refused, {
      id: '1',
      successful: false,
      error: '301:long-polling,callback-polling:connection_types_not_supported',
      supportedConnectionTypes: ['long-polling', 'callback-polling'],
      advice: { reconnect: 'none' }
    })
    t.notOk('clientId' in refused!, 'no session')
    t.equal(pollingOnly.bayeux.sessionCount, 0)
    const [accepted] = (await new HttpPeer(pollingOnly.url).post([{ id: '2', channel: '/meta/handshake', supportedConnectionTypes: ['websocket', 'long-polling'] }])).messages
    t.match(accepted, { successful: true }, 'one type in common is enough')
  })

  await t.test('C95 the ack extension is offered only to clients that ask', async t => {
    t.match((await new HttpPeer(server.url).handshake({ ext: { ack: true } }))['ext'], { ack: true })
    t.notOk((await new HttpPeer(server.url).handshake())['ext'])
  })
})

t.test('unknown sessions (C26, C47, C67, C73)', async t => {
  const server = await startServer(t, { timeout: 300 })
  const peer = new HttpPeer(server.url)
  await peer.handshake()
  const answer = await peer.post(['/meta/connect', '/meta/subscribe', '/meta/unsubscribe', '/some/channel', '/meta/disconnect'].map((channel, i) => ({
    id: String(i), clientId: 'nosuchclient', channel, subscription: '/x', data: 1
  })))
  t.match(answer.messages[0], { successful: false, error: '402::session_unknown', advice: { reconnect: 'handshake', interval: 0 } }, 'connect: handshake advice')
  t.match(answer.messages[1], { subscription: '/x' }, 'C41 subscribe replies echo subscription even on failure')
  t.match(answer.messages[2], { subscription: '/x' }, 'and unsubscribe replies')
  for (const reply of answer.messages.slice(1)) {
    t.match(reply, { successful: false, error: '402::session_unknown' }, reply['channel'])
    t.notOk(reply['advice'], `${reply['channel']}: no reconnect advice (docs/protocol.md §4.4)`)
  }
  await peer.send({ channel: '/meta/disconnect' })
  const [after] = await peer.send({ channel: '/meta/subscribe', subscription: '/x' })
  t.match(after, { error: '402::session_unknown' }, 'C73 a disconnected clientId is unknown')
})

t.test('subscribe and unsubscribe', async t => {
  const server = await startServer(t, { timeout: 300, maxSubscriptionsPerSession: 3 })
  const peer = new HttpPeer(server.url)
  await peer.connected()
  const subscribe = async (subscription: unknown): Promise<Json> => (await peer.send({ channel: '/meta/subscribe', subscription }))[0]!

  t.match(await subscribe('/a/*'), { successful: true, subscription: '/a/*' }, 'C41 C43 echo, wildcard')
  t.match(await subscribe(['/b', '/c/**']), { successful: true, subscription: ['/b', '/c/**'] }, 'C42 arrays')
  t.match(await subscribe('/service/echo'), { successful: true }, 'C44 service subscribe is a no-op success')
  t.match(await subscribe('/meta/connect'), { successful: false, error: /^403:/ }, 'C45 meta refused')
  t.match((await peer.send({ channel: '/meta/subscribe' }))[0], { successful: false, error: '403::subscription_missing' }, 'C46 missing')
  t.match(await subscribe('/bad channel?'), { successful: false, error: '403::subscription_invalid' }, 'C46 invalid')
  t.match(await subscribe('/a/*/b'), { successful: false, error: '403::subscription_invalid' }, 'C52 mid-path wildcard')
  t.match(await subscribe('/a/*'), { successful: true }, 'C48 subscribing twice succeeds')
  t.match(await subscribe('/one/too/many'), { successful: false, error: '403::too_many_subscriptions' }, 'the per-session limit')
  const [unsubscribed] = await peer.send({ channel: '/meta/unsubscribe', subscription: '/never/subscribed' })
  t.match(unsubscribed, { successful: true, subscription: '/never/subscribed' }, 'C50 unknown channel unsubscribe succeeds')
})

t.test('publish', async t => {
  const server = await startServer(t, { timeout: 300 })
  const publisher = new HttpPeer(server.url)
  const subscriber = new HttpPeer(server.url)
  await publisher.connected()
  await subscriber.connected()
  await subscriber.send({ channel: '/meta/subscribe', subscription: ['/news/a', '/news/*', '/news/**'] })

  const [ack] = await publisher.send({ channel: '/news/a', data: { n: 1 }, ext: { trace: 'x' } })
  t.same(ack, { id: ack!['id'], channel: '/news/a', successful: true }, 'C53 C54 ack without data')
  const delivered = await subscriber.send({ channel: '/meta/connect', connectionType: 'long-polling' })
  t.same(delivered.filter(m => m['channel'] === '/news/a'), [{ channel: '/news/a', data: { n: 1 }, ext: { trace: 'x' } }],
    'C55-C58 C60 exactly one copy, with data and ext, without id and clientId')

  const failures = await publisher.post([
    { id: '1', clientId: publisher.clientId, channel: '/news/*', data: 1 },
    { id: '2', clientId: publisher.clientId, channel: '/meta/foo', data: 1 },
    { id: '3', clientId: publisher.clientId, channel: '/news/a' },
    { id: '4', clientId: publisher.clientId, channel: '/service/nobody', data: 1 }
  ])
  t.match(failures.messages, [
    { id: '1', successful: false, error: '405:/news/*:channel_invalid' },
    { id: '2', successful: false, error: /^403:/ },
    { id: '3', successful: false, error: '402:data:missing' },
    { id: '4', successful: true }
  ], 'C63 wildcard, C64 meta, C68 no data refused; C65 service acked')
})

t.test('C62 C65 a /** subscriber never receives service or meta traffic', async t => {
  const server = await startServer(t, { timeout: 300 })
  const spy = new HttpPeer(server.url)
  const caller = new HttpPeer(server.url)
  await spy.connected()
  await caller.connected()
  await spy.send({ channel: '/meta/subscribe', subscription: '/**' })
  await caller.send({ channel: '/service/secret', data: 'private' })
  await caller.send({ channel: '/visible', data: 'public' })
  const received = await spy.send({ channel: '/meta/connect', connectionType: 'long-polling' })
  t.same(received.filter(m => 'data' in m).map(m => m['data']), ['public'])
})

t.test('server-side API: listen, publish, service answers, events', async t => {
  const server = await startServer(t, { timeout: 300 })
  const seen: string[] = []
  server.bayeux.on('handshake', () => seen.push('handshake'))
  server.bayeux.on('subscribe', (_s, channel) => seen.push(`subscribe ${channel}`))
  server.bayeux.on('disconnect', (_s, reason) => seen.push(`disconnect ${reason}`))
  const heard: unknown[] = []
  server.bayeux.listen('/room/**', message => { heard.push(message.data) })
  server.bayeux.listen('/service/add', message => {
    const { a, b } = message.data as { a: number, b: number }
    return a + b
  })
  server.bayeux.listen('/service/broken', () => { throw new Error('boom') })

  const peer = new HttpPeer(server.url)
  await peer.connected()
  await peer.send({ channel: '/meta/subscribe', subscription: '/room/1' })
  await peer.send({ channel: '/room/1', data: 'from client' })
  await server.bayeux.publish('/room/1', 'from server')
  const events = await peer.send({ channel: '/meta/connect', connectionType: 'long-polling' })
  t.same(events.filter(m => m['channel'] === '/room/1').map(m => m['data']), ['from client', 'from server'])
  t.same(heard, ['from client', 'from server'], 'listeners hear client and server publishes')

  const answer = await peer.send({ channel: '/service/add', data: { a: 2, b: 3 } })
  t.match(answer, [{ channel: '/service/add', successful: true }, { channel: '/service/add', successful: true, data: 5 }], 'C66 ack then answer with the same id')
  t.equal(answer[0]!['id'], answer[1]!['id'])
  t.notOk('data' in answer[0]!, 'the ack has no data')
  t.match(await peer.send({ channel: '/service/broken', data: 1 }), [{ successful: false, error: '500::internal_error' }], 'a throwing listener fails the call, not the server')

  await t.rejects(server.bayeux.publish('/room/*', 1), { code: 'BAYEUX_ERR_INVALID_CHANNEL' })
  await t.rejects(server.bayeux.publish('/meta/x', 1), { code: 'BAYEUX_ERR_INVALID_CHANNEL' })
  t.throws(() => server.bayeux.listen('/meta/connect', () => {}), { code: 'BAYEUX_ERR_INVALID_CHANNEL' })

  await peer.send({ channel: '/meta/disconnect' })
  t.same(seen, ['handshake', 'subscribe /room/1', 'disconnect client'])
})

t.test('sessions limit', async t => {
  const server = await startServer(t, { timeout: 300, maxSessions: 2 })
  await new HttpPeer(server.url).handshake()
  await new HttpPeer(server.url).handshake()
  const refused = await new HttpPeer(server.url).handshake()
  t.match(refused, { successful: false, error: '503::too_many_sessions', advice: { reconnect: 'handshake' } })
})

t.test('publish rate limit: excess gets a Bayeux error, not a silent drop', async t => {
  const server = await startServer(t, { timeout: 300, publishRate: 1, publishBurst: 3 })
  const peer = new HttpPeer(server.url)
  await peer.connected()
  const answer = await peer.post(Array.from({ length: 5 }, (_, i) => ({ id: String(i), clientId: peer.clientId, channel: '/flood', data: i })))
  t.same(answer.messages.map(m => m['successful']), [true, true, true, false, false])
  t.match(answer.messages[4], { error: '429::publish_rate_exceeded' })
})

t.test('channel name length and depth limits', async t => {
  const server = await startServer(t, { timeout: 300, maxChannelLength: 20, maxChannelDepth: 3 })
  const peer = new HttpPeer(server.url)
  await peer.connected()
  t.match((await peer.send({ channel: '/a/b/c', data: 1 }))[0], { successful: true })
  t.match((await peer.send({ channel: '/a/b/c/d', data: 1 }))[0], { error: '405::channel_invalid' }, 'too deep')
  t.match((await peer.send({ channel: '/' + 'x'.repeat(20), data: 1 }))[0], { error: '405::channel_invalid' }, 'too long')
  t.match((await peer.send({ channel: '/meta/subscribe', subscription: '/a/b/c/**' }))[0], { error: '403::subscription_invalid' }, 'patterns too')
})

t.test('application code that throws never breaks the server', async t => {
  const log = new RecordingLogger()
  const server = await startServer(t, { timeout: 300, maxInterval: 200, logger: log as never })
  for (const event of ['handshake', 'subscribe', 'publish', 'disconnect'] as const) {
    server.bayeux.on(event, () => { throw new Error(`${event} listener bug`) })
  }
  server.bayeux.listen('/watched/**', () => { throw new Error('channel listener bug') })
  server.bayeux.authorize('/guarded/**', { canSubscribe: () => { throw new Error('authorizer bug') } })

  const subscriber = new HttpPeer(server.url)
  await subscriber.connected()
  t.match((await subscriber.send({ channel: '/meta/subscribe', subscription: '/watched/a' }))[0], { successful: true }, 'a throwing subscribe listener does not fail the subscribe')
  t.match((await subscriber.send({ channel: '/meta/subscribe', subscription: '/guarded/a' }))[0],
    { successful: false, error: '403:denied_by_authorizer:subscribe_denied' }, 'a throwing authorizer denies (fail closed)')
  t.match((await subscriber.send({ channel: '/watched/a', data: 'through' }))[0], { successful: true }, 'a throwing channel listener does not stop the publish')
  t.match((await subscriber.send({ channel: '/meta/connect', connectionType: 'long-polling' })).find(m => 'data' in m), { data: 'through' }, 'and the event is delivered')

  // An idle session expires from the timer wheel, where a throwing disconnect listener used to crash the process.
  const idle = new HttpPeer(server.url)
  await idle.connected()
  for (let i = 0; i < 200 && server.bayeux.getSession(idle.clientId!) !== undefined; i++) await delay(25)
  t.equal(server.bayeux.getSession(idle.clientId!), undefined, 'the idle session expired')
  t.match((await new HttpPeer(server.url).handshake()), { successful: true }, 'and the server still serves')
  t.ok(log.at('error').some(line => /'disconnect' listener failed/.test(String(line.message))), 'the failure was logged')
})

t.test('data that cannot become JSON gets a clear error', async t => {
  const server = await startServer(t, { timeout: 300 })
  const cyclic: Record<string, unknown> = {}
  cyclic['self'] = cyclic
  await t.rejects(server.bayeux.publish('/x', cyclic), { code: 'BAYEUX_ERR_INVALID_DATA' }, 'server publish')
  const peer = new HttpPeer(server.url)
  await peer.connected()
  t.throws(() => server.bayeux.getSession(peer.clientId!)!.deliver('/x', 10n), { code: 'BAYEUX_ERR_INVALID_DATA' }, 'session deliver')
  server.bayeux.listen('/service/bigint', () => 1n)
  const answer = await peer.send({ channel: '/service/bigint', data: 1 })
  t.match(answer, [{ successful: false, error: '500::internal_error' }], 'an unserializable remote-call answer fails that call only')
  t.match((await peer.send({ channel: '/y', data: 1 }))[0], { successful: true }, 'the session goes on')
})
