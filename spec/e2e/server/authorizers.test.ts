/**
 * Channel authorizers (lib/server/authorizers.ts): they guard exact and wildcard
 * subscriptions alike, and names crafted to look like another channel never get
 * around them (the CVE-2020-11020 class).
 */
import t from 'tap'
import { HttpPeer, startServer } from '../../helpers.ts'
import type { Json } from '../../helpers.ts'

const connect = (peer: HttpPeer): Promise<Json[]> => peer.send({ channel: '/meta/connect', connectionType: 'long-polling' })
const data = (messages: Json[]): unknown[] => messages.filter(m => 'data' in m).map(m => m['data'])

t.test('authorizers guard exact and wildcard subscribers and publishers', async t => {
  const server = await startServer(t, {
    timeout: 300,
    policy: { canHandshake: (session, message) => { session.attributes.set('role', message.ext?.['role']); return true } }
  })
  const isAdmin = (session: { attributes: Map<string, unknown> }): boolean => session.attributes.get('role') === 'admin'
  const remove = server.bayeux.authorize('/private/**', { canSubscribe: isAdmin, canPublish: isAdmin })

  const admin = new HttpPeer(server.url)
  const user = new HttpPeer(server.url)
  await admin.connected({ ext: { role: 'admin' } })
  await user.connected({ ext: { role: 'user' } })

  t.match((await user.send({ channel: '/meta/subscribe', subscription: '/private/x' }))[0],
    { successful: false, error: '403:denied_by_authorizer:subscribe_denied' }, 'exact subscribe denied')
  t.match((await user.send({ channel: '/meta/subscribe', subscription: '/**' }))[0], { successful: true }, 'a wildcard subscribe is allowed...')
  t.match((await admin.send({ channel: '/meta/subscribe', subscription: '/**' }))[0], { successful: true })
  t.match((await user.send({ channel: '/private/x', data: 'forged' }))[0],
    { successful: false, error: '403:denied_by_authorizer:publish_denied' }, 'publish denied')

  await admin.send({ channel: '/private/x', data: 'secret' })
  await admin.send({ channel: '/public/x', data: 'hello' })
  t.same(data(await connect(user)), ['hello'], '...but a /** subscriber never receives what the authorizer denies')
  t.same(data(await connect(admin)), ['secret', 'hello'], 'an allowed wildcard subscriber does')

  remove()
  await admin.send({ channel: '/private/x', data: 'open now' })
  t.same(data(await connect(user)), ['open now'], 'removing the authorizer lifts the guard')

  t.throws(() => server.bayeux.authorize('/meta/**', {}), { code: 'BAYEUX_ERR_INVALID_CHANNEL' })
})

t.test('CVE-2020-11020 class: look-alike names never bypass guards or extensions', async t => {
  const seen: string[] = []
  const server = await startServer(t, {
    timeout: 300,
    extensions: [{ incoming: message => { seen.push(message.channel) } }]
  })
  server.bayeux.authorize('/private/**', { canSubscribe: () => false, canPublish: () => false })
  const spy = new HttpPeer(server.url)
  await spy.connected()
  await spy.send({ channel: '/meta/subscribe', subscription: '/**' })
  const owner = new HttpPeer(server.url)
  await owner.connected()
  seen.length = 0

  const attempts: Array<[string, RegExp]> = [
    ['/meta/subscribe/x', /^403:/], // a meta channel that is not an operation
    ['/meta/connect/', /^405:/], // trailing slash is an empty segment, not /meta/connect
    ['/meta%2Fconnect', /^405:/], // percent-encoding is not decoded into a separator
    ['/private/x/', /^405:/],
    ['/private//x', /^405:/],
    ['/private/./x', /^403:denied_by_authorizer/], // "." is a segment, still under /private/**
    ['/private/x', /^403:denied_by_authorizer/]
  ]
  for (const [channel, error] of attempts) {
    const [reply] = await owner.send({ channel, data: 'leak?' })
    t.match(reply, { successful: false, error }, channel)
  }
  t.same(seen, attempts.map(([channel]) => channel), 'every attempt went through the incoming extensions')
  const [cased] = await owner.send({ channel: '/PRIVATE/x', data: 'other channel' })
  t.match(cased, { successful: true }, '/PRIVATE/x is a different channel (case-sensitive, as in CometD)...')
  t.same(data(await connect(spy)), ['other channel'], '...and nothing under /private/** reached the spy')
})
