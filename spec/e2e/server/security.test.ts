/**
 * The security policy (lib/server/security.ts): canCreate, asked the first time a
 * channel is used, by subscribe or publish (docs/protocol.md §7.4, C49, C69).
 */
import t from 'tap'
import { HttpPeer, startServer } from '../../helpers.ts'

t.test('canCreate gates the first use of a channel only', async t => {
  const asked: string[] = []
  const server = await startServer(t, {
    timeout: 300,
    policy: {
      canHandshake: (session, message) => { session.attributes.set('admin', message.ext?.['admin'] === true); return true },
      canCreate: async (session, channel) => { asked.push(channel); return session.attributes.get('admin') === true }
    }
  })
  const admin = new HttpPeer(server.url)
  const user = new HttpPeer(server.url)
  await admin.connected({ ext: { admin: true } })
  await user.connected()

  t.match((await user.send({ channel: '/meta/subscribe', subscription: '/rooms/new' }))[0],
    { successful: false, error: '403:denied_by_security_policy:create_denied' }, 'subscribe to a new channel')
  t.match((await user.send({ channel: '/rooms/other', data: 1 }))[0],
    { successful: false, error: '403:denied_by_security_policy:channel_create_denied' }, 'publish to a new channel')
  t.match((await admin.send({ channel: '/meta/subscribe', subscription: '/rooms/new' }))[0], { successful: true }, 'the admin creates it')
  t.match((await user.send({ channel: '/meta/subscribe', subscription: '/rooms/new' }))[0], { successful: true }, 'then anyone may use it')
  t.match((await user.send({ channel: '/rooms/new', data: 2 }))[0], { successful: true })
  t.same(asked, ['/rooms/new', '/rooms/other', '/rooms/new'], 'not asked again once created')
})

t.test('policies may be async and see the message', async t => {
  const server = await startServer(t, {
    timeout: 300,
    policy: {
      canSubscribe: async (_session, channel) => !channel.startsWith('/admin'),
      canPublish: async (_session, _channel, message) => (message.data as { ok?: boolean }).ok === true
    }
  })
  const peer = new HttpPeer(server.url)
  await peer.connected()
  t.match((await peer.send({ channel: '/meta/subscribe', subscription: ['/fine', '/admin/x'] }))[0],
    { successful: false, error: '403:denied_by_security_policy:subscribe_denied', subscription: ['/fine', '/admin/x'] }, 'C49 stops at the first denial')
  t.match((await peer.send({ channel: '/x', data: { ok: false } }))[0], { error: '403:denied_by_security_policy:publish_denied' }, 'C69')
  t.match((await peer.send({ channel: '/x', data: { ok: true } }))[0], { successful: true })
})
