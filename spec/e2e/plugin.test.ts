/**
 * Embedding (lib/plugin.ts, issue 2): a fastify app with its own JSON routes registers
 * bayeuxPlugin with a BayeuxServer made beforehand, and drives it through the
 * server-side API: publish, events, extensions and a security policy.
 */
import t from 'tap'
import Fastify from 'fastify'
import { request } from 'undici'
import { BayeuxServer, bayeuxPlugin } from '../../lib/index.ts'
import type { EventMessage, Extension, Message, Reply, SecurityPolicy } from '../../lib/index.ts'
import { HttpPeer, WsPeer, delay } from '../helpers.ts'

/** An app with a JSON route, Bayeux registered on it (under `prefix`); listening on a free port. */
async function startApp (t: { teardown (fn: () => unknown): void }, bayeux: BayeuxServer, prefix?: string): Promise<string> {
  const app = Fastify({ logger: false })
  app.post('/api/echo', async request => ({ got: request.body }))
  await app.register(bayeuxPlugin, prefix === undefined ? { bayeux } : { bayeux, prefix })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const address = app.server.address()
  return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
}

/** POSTs `body` to the app with `contentType`; returns the status and the parsed or raw body. */
async function postApp (url: string, body: string, contentType: string): Promise<{ status: number, body: any }> {
  const answer = await request(url, { method: 'POST', body, headers: { 'content-type': contentType } })
  const text = await answer.body.text()
  try {
    return { status: answer.statusCode, body: JSON.parse(text) }
  } catch {
    return { status: answer.statusCode, body: text }
  }
}

t.test('the app keeps its own body parsing and error handling', async t => {
  const origin = await startApp(t, new BayeuxServer({ timeout: 300 }))
  const echoed = await postApp(`${origin}/api/echo`, '{"a":[1,2]}', 'application/json')
  t.same(echoed, { status: 200, body: { got: { a: [1, 2] } } }, 'JSON is parsed for the app route')
  const malformed = await postApp(`${origin}/api/echo`, '{"a":', 'application/json')
  t.equal(malformed.status, 400, 'malformed JSON is refused by fastify')
  t.match(malformed.body.code, /^FST_ERR_CTP_INVALID_JSON/, 'with fastify\'s own JSON error, not the plugin\'s handler')
  const unknown = await postApp(`${origin}/api/echo`, 'x', 'application/x-whatever')
  t.equal(unknown.status, 415, 'the plugin\'s catch-all parser does not reach the app\'s routes')

  const peer = new HttpPeer(`${origin}/cometd`)
  const hello = await peer.post([{ id: '1', channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }], { headers: { 'content-type': 'text/plain' } })
  t.match(hello.messages, [{ successful: true, channel: '/meta/handshake' }], 'Bayeux on its path takes any content type (C80)')
  const socket = await WsPeer.open(`${origin}/cometd`)
  t.teardown(() => socket.close())
  t.match(await socket.handshake(), { successful: true }, 'and WebSocket upgrades on the same path')
})

t.test('fastify\'s register options (prefix, logLevel) do not reach the server\'s options', async t => {
  const app = Fastify({ logger: false })
  await app.register(bayeuxPlugin, { prefix: '/rt', logLevel: 'warn', timeout: 5000 } as never)
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const address = app.server.address()
  const hello = await new HttpPeer(`http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/rt/cometd`).handshake()
  t.match(hello, { successful: true, advice: { timeout: 5000 } }, 'served under the prefix, with the options given')
})

t.test('a server given with options of its own is refused: they would be ignored', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  app.register(bayeuxPlugin, { bayeux: new BayeuxServer(), timeout: 5000 })
  await t.rejects(async () => { await app.ready() }, {
    code: 'BAYEUX_ERR_INVALID_OPTIONS',
    message: /timeout would be ignored/
  })
})

t.test('a register() prefix moves every transport, WebSocket included (docs/protocol.md §8)', async t => {
  const origin = await startApp(t, new BayeuxServer({ timeout: 300 }), '/realtime')
  const hello = await new HttpPeer(`${origin}/realtime/cometd`).handshake()
  t.match(hello, { successful: true, supportedConnectionTypes: ['websocket', 'long-polling', 'callback-polling'] })
  const socket = await WsPeer.open(`${origin}/realtime/cometd`)
  t.teardown(() => socket.close())
  t.match(await socket.handshake(), { successful: true }, 'the advertised websocket works at the same URL')
  await t.rejects(WsPeer.open(`${origin}/cometd`), /HTTP 404/, 'and not outside the prefix')
})

t.test('server-side publish and events', async t => {
  const bayeux = new BayeuxServer({ timeout: 5000 })
  const seen: string[] = []
  bayeux.on('handshake', session => seen.push(`handshake ${session.id}`))
  bayeux.on('subscribe', (session, channel) => seen.push(`subscribe ${channel} ${session.id}`))
  bayeux.on('publish', (message, session) => seen.push(`publish ${message.channel} ${JSON.stringify(message.data)} ${session?.id ?? 'server'}`))
  bayeux.on('disconnect', (session, reason) => seen.push(`disconnect ${reason} ${session.id}`))
  const peer = new HttpPeer(`${await startApp(t, bayeux)}/cometd`)
  await peer.connected()
  await peer.send({ channel: '/meta/subscribe', subscription: '/news' })

  const held = peer.send({ channel: '/meta/connect', connectionType: 'long-polling' })
  await bayeux.publish('/news', { headline: 'from the server' })
  const answer = await held
  t.same(answer[0], { channel: '/news', data: { headline: 'from the server' } }, 'bayeux.publish() reaches the subscriber (C55-C57)')
  t.match(answer[1], { channel: '/meta/connect', successful: true })

  await peer.send({ channel: '/news', data: 'from a client' })
  await peer.send({ channel: '/meta/disconnect' })
  const id = peer.clientId
  t.same(seen, [
    `handshake ${id}`,
    `subscribe /news ${id}`,
    'publish /news {"headline":"from the server"} server',
    `publish /news "from a client" ${id}`,
    `disconnect client ${id}`
  ], 'handshake, subscribe, publish and disconnect events fire with their session')
  await t.rejects(bayeux.publish('/meta/connect', 1), { code: 'BAYEUX_ERR_INVALID_CHANNEL' }, 'the server cannot publish to /meta/')
  await t.rejects(bayeux.publish('/news/*', 1), { code: 'BAYEUX_ERR_INVALID_CHANNEL' }, 'nor to a wildcard')
})

t.test('an async extension sees, changes and deletes messages (C69)', async t => {
  const incoming: string[] = []
  const extension: Extension = {
    async incoming (message: Message) {
      await delay(1)
      incoming.push(message.channel)
      if (message.channel === '/ext/drop') return null
      if (message.channel === '/ext/shout') return { ...message, data: String(message.data).toUpperCase() }
      return message
    },
    async outgoing (message: Reply | EventMessage, session, request) {
      await delay(1)
      if (session === undefined) return { ...message, ext: { ...message.ext, stamped: 'event' } }
      if (message.channel === '/meta/subscribe') return { ...message, ext: { stamped: `reply to ${request?.id}` } }
      return message
    }
  }
  const bayeux = new BayeuxServer({ timeout: 5000 })
  bayeux.addExtension(extension)
  const peer = new HttpPeer(`${await startApp(t, bayeux)}/cometd`)
  await peer.connected()
  const subscribeId = peer.nextId()
  const [subscribed] = (await peer.post([{ id: subscribeId, clientId: peer.clientId, channel: '/meta/subscribe', subscription: '/ext/*' }])).messages
  t.match(subscribed, { successful: true, ext: { stamped: `reply to ${subscribeId}` } }, 'outgoing sees replies, with their request')

  const [deleted] = await peer.send({ channel: '/ext/drop', data: 'never' })
  t.match(deleted, { channel: '/ext/drop', successful: false, error: '404::message_deleted' }, 'null from incoming deletes the message')
  const held = peer.send({ channel: '/meta/connect', connectionType: 'long-polling' })
  const [ack] = await peer.send({ channel: '/ext/shout', data: 'hello' })
  t.match(ack, { channel: '/ext/shout', successful: true })
  const [event] = await held
  t.same(event, { channel: '/ext/shout', data: 'HELLO', ext: { stamped: 'event' } }, 'incoming changed the data; outgoing stamped the event')
  t.same(incoming.filter(channel => channel.startsWith('/ext/')), ['/ext/drop', '/ext/shout'], 'incoming saw each publish once')
  t.ok(incoming.includes('/meta/handshake') && incoming.includes('/meta/connect'), 'incoming also sees meta messages')
})

t.test('an async security policy refuses with the Bayeux errors (C23, C49, C69)', async t => {
  const policy: SecurityPolicy = {
    async canHandshake (_session, message) {
      await delay(1)
      return message.ext?.['token'] === 'secret'
    },
    async canSubscribe (_session, channel) {
      await delay(1)
      return !channel.startsWith('/private/')
    },
    async canPublish (_session, channel) {
      await delay(1)
      return channel !== '/read-only'
    }
  }
  const bayeux = new BayeuxServer({ timeout: 5000, policy })
  const handshakes: string[] = []
  bayeux.on('handshake', session => handshakes.push(session.id))
  const url = `${await startApp(t, bayeux)}/cometd`

  const stranger = new HttpPeer(url)
  const refused = await stranger.handshake()
  t.match(refused, { channel: '/meta/handshake', successful: false, error: '403::handshake_denied', advice: { reconnect: 'none' } }, 'C23')
  t.notOk('clientId' in refused, 'no clientId for a refused handshake')
  t.same(handshakes, [], 'no session was created')

  const member = new HttpPeer(url)
  await member.connected({ ext: { token: 'secret' } })
  t.equal(handshakes.length, 1, 'the token opens a session')
  const [denied] = await member.send({ channel: '/meta/subscribe', subscription: '/private/diary' })
  t.match(denied, { successful: false, subscription: '/private/diary', error: '403:denied_by_security_policy:subscribe_denied' }, 'C49')
  const [allowed] = await member.send({ channel: '/meta/subscribe', subscription: '/public' })
  t.match(allowed, { successful: true })
  const [readOnly] = await member.send({ channel: '/read-only', data: 1 })
  t.match(readOnly, { channel: '/read-only', successful: false, error: '403:denied_by_security_policy:publish_denied' }, 'C69')
  const held = member.send({ channel: '/meta/connect', connectionType: 'long-polling' })
  const [ack] = await member.send({ channel: '/public', data: 'ok' })
  t.match(ack, { channel: '/public', successful: true })
  t.match(await held, [{ channel: '/public', data: 'ok' }], 'allowed publishes are delivered')
})
