// The cometd client's replay extension, driven message by message as the client would drive it.
import t from 'tap'
import { REPLAY_ALL, REPLAY_NEW, ReplayExtension, type ReplayMessage } from '../../lib/client/replay.ts'

const handshakeReply = (ext?: object): ReplayMessage => ({ channel: '/meta/handshake', successful: true, ...(ext !== undefined && { ext }) })
const subscribe = (subscription: string | string[], ext?: object): ReplayMessage => ({ channel: '/meta/subscribe', subscription, ...(ext !== undefined && { ext }) })
const envelope = (channel: string, replayId: number): ReplayMessage => ({ channel, data: { event: { replayId, createdDate: '2026-11-30T12:00:00.000Z' }, payload: { n: replayId } } })
const plain = (channel: string, id: number): ReplayMessage => ({ channel, data: { n: id }, ext: { replay: { id } } })

/** An extension whose handshake reply offered replay. */
function offered (options = {}): ReplayExtension {
  const extension = new ReplayExtension(options)
  extension.incoming(handshakeReply({ replay: true }))
  return extension
}

t.test('replay is asked for only after a handshake reply carrying ext.replay: true', async t => {
  const extension = new ReplayExtension({ from: { '/event/a': REPLAY_ALL } })
  t.same(extension.outgoing(subscribe('/event/a')).ext, undefined, 'before any handshake: nothing sent')
  extension.incoming(handshakeReply())
  t.equal(extension.enabled, false)
  t.same(extension.outgoing(subscribe('/event/a')).ext, undefined, 'a server without history: nothing sent')
  extension.incoming(handshakeReply({ replay: true }))
  t.equal(extension.enabled, true)
  t.same(extension.outgoing(subscribe('/event/a')).ext, { replay: { '/event/a': -2 } })
  extension.incoming({ channel: '/meta/handshake', successful: false, ext: {} })
  t.equal(extension.enabled, true, 'a failed handshake reply changes nothing')
  extension.incoming(handshakeReply({ replay: false }))
  t.same(extension.outgoing(subscribe('/event/a')).ext, undefined, 'a later handshake without it turns replay off')
})

t.test('remembers the last id per channel from data.event.replayId and from ext.replay.id', async t => {
  const extension = offered()
  for (const event of [envelope('/event/a', 3), envelope('/event/a', 4), plain('/chat/b', 7), envelope('/event/c', 0)]) {
    t.equal(extension.incoming(event), event, 'the event goes on unchanged')
  }
  t.same(extension.replayIds(), { '/event/a': 4, '/chat/b': 7 }, 'latest id per channel; 0 is no id')
  t.same(extension.outgoing(subscribe('/event/a')).ext, { replay: { '/event/a': 4 } })
  t.same(extension.outgoing(subscribe('/chat/b')).ext, { replay: { '/chat/b': 7 } })
  t.same(extension.outgoing(subscribe('/chat/new')).ext, undefined, 'a channel without an entry: new events only, the server default')
})

t.test('an event whose id was already seen on its channel is dropped: nothing twice', async t => {
  const extension = offered({ from: { '/event/a': 10 } })
  t.equal(extension.incoming(envelope('/event/a', 10)), null, 'the id resumed from')
  t.equal(extension.incoming(envelope('/event/a', 9)), null, 'an older one')
  const next = envelope('/event/a', 11)
  t.equal(extension.incoming(next), next)
  t.equal(extension.incoming(plain('/event/a', 11)), null, 'the same id again')
  const other = plain('/event/b', 5)
  t.equal(extension.incoming(other), other, 'ids are per channel')
  t.same(extension.replayIds(), { '/event/a': 11, '/event/b': 5 })
})

t.test('ids that are not positive integers, and meta replies, are not taken', async t => {
  const extension = offered()
  const strange: ReplayMessage[] = [
    { channel: '/a', data: { event: { replayId: '12' } } },
    { channel: '/a', data: { event: { replayId: 1.5 } } },
    { channel: '/a', data: { event: { replayId: -2 } } },
    { channel: '/a', data: null },
    { channel: '/a', data: 'text', ext: { replay: true } },
    { channel: '/a', data: { n: 1 }, ext: { replay: { id: Number.MAX_SAFE_INTEGER + 2 } } },
    { channel: '/meta/subscribe', successful: true, subscription: '/a', ext: { replay: { id: 9 } } },
    { channel: '/meta/connect', successful: true, data: { event: { replayId: 9 } } }
  ]
  for (const message of strange) extension.incoming(message)
  t.same(extension.replayIds(), {})
})

t.test('starting points: -2, -1 or a saved id, replaced by the ids seen afterwards', async t => {
  const extension = offered({ from: { '/event/a': REPLAY_ALL, '/event/b': 41, '/event/c': REPLAY_NEW } })
  t.same(extension.outgoing(subscribe(['/event/a', '/event/b'])).ext, { replay: { '/event/a': -2, '/event/b': 41 } }, 'a batch of subscriptions gets one map')
  extension.incoming(envelope('/event/a', 1))
  extension.incoming(envelope('/event/b', 42))
  t.same(extension.replayIds(), { '/event/a': 1, '/event/b': 42, '/event/c': -1 })
  extension.setReplayId('/event/b', REPLAY_ALL)
  t.same(extension.outgoing(subscribe('/event/b')).ext, { replay: { '/event/b': -2 } }, 'setReplayId starts over, e.g. after an invalid-id error')
  for (const bad of [-3, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2]) {
    t.throws(() => extension.setReplayId('/event/b', bad), TypeError)
  }
  t.throws(() => new ReplayExtension({ from: { '/x': 0.5 } }), TypeError)
})

t.test('a wildcard pattern starts where told, and resumes whole once subscribed to', async t => {
  const extension = offered({ from: { '/event/*': REPLAY_NEW } })
  extension.incoming(envelope('/event/a', 5))
  t.same(extension.outgoing(subscribe('/event/**')).ext, undefined, 'never subscribed, no starting point: new events only')
  t.same(extension.outgoing(subscribe('/event/*')).ext, { replay: { '/event/*': -1 } }, 'its starting point; the ids of channels under it are not sent')
  extension.incoming({ channel: '/meta/subscribe', successful: false, subscription: '/event/**' })
  extension.incoming({ channel: '/meta/subscribe', successful: true, subscription: ['/event/*', '/other'] })
  t.same(extension.outgoing(subscribe('/event/**')).ext, undefined, 'a failed subscription does not count')
  t.same(extension.outgoing(subscribe(['/event/*', '/other'])).ext, { replay: { '/event/*': -2 } }, 'subscribed before: every retained event again (ids are per channel)')
  t.equal(extension.incoming(envelope('/event/a', 5)), null, 'and those already seen are dropped')
  const missed = envelope('/event/b', 6)
  t.equal(extension.incoming(missed), missed)
})

t.test('other ext fields of the subscribe are kept; other messages are left alone', async t => {
  const extension = offered({ from: { '/a': 3 } })
  t.same(extension.outgoing(subscribe('/a', { token: 'x' })).ext, { token: 'x', replay: { '/a': 3 } })
  const publish: ReplayMessage = { channel: '/a', data: 1 }
  t.same(extension.outgoing(publish), { channel: '/a', data: 1 }, 'a publish is not touched')
  const unsubscribe: ReplayMessage = { channel: '/meta/unsubscribe', subscription: '/a' }
  t.same(extension.outgoing(unsubscribe), { channel: '/meta/unsubscribe', subscription: '/a' })
})
