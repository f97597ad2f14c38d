/**
 * The core's own wiring (lib/server/core.ts) without sockets: extensions it accepts,
 * patterns applications may register on, bad input reported for transports, the
 * engine's deliveries, and start/close.
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import { EventEmitter } from 'node:events'
import t from 'tap'
import { OutgoingEvent } from '../../lib/protocol/outgoing-event.ts'
import { ServerCore } from '../../lib/server/core.ts'
import type { Extension } from '../../lib/server/extensions.ts'
import { CoreHarness, flushed } from '../support/core-harness.ts'
import { FakePushLink, FakeRequestLink } from '../support/fake-links.ts'

t.test('only objects with at least one hook, every hook a function, are extensions', async t => {
  const h = await CoreHarness.start(t)
  for (const notAnExtension of [{}, { incoming: 'yes' }, { incoming () {}, outgoing: 1 }] as unknown as Extension[]) {
    t.throws(() => h.core.addExtension(notAnExtension), { code: 'BAYEUX_ERR_INVALID_EXTENSION' }, JSON.stringify(notAnExtension))
  }
  t.throws(() => new ServerCore({ extensions: [{} as Extension] }, new EventEmitter()), { code: 'BAYEUX_ERR_INVALID_EXTENSION' }, 'nor through the options')
  t.throws(() => new ServerCore({ timeout: -1 }, new EventEmitter()), { code: 'BAYEUX_ERR_INVALID_OPTIONS' }, 'options are validated')
})

t.test('§6.1 extensions run in the order added, outgoing ones in reverse, until removed', async t => {
  const calls: string[] = []
  const named = (name: string): Extension => ({
    incoming () { calls.push(`${name}.incoming`) },
    outgoing () { calls.push(`${name}.outgoing`) }
  })
  const first = named('first')
  const second = named('second')
  const h = await CoreHarness.start(t, { timesync: false, extensions: [first] })
  h.core.addExtension(second)
  const link = new FakeRequestLink()
  await h.handshake(link)
  t.same(calls.splice(0), ['first.incoming', 'second.incoming', 'second.outgoing', 'first.outgoing'])
  h.core.extensions.remove(first)
  await h.handshake(link)
  t.same(calls.splice(0), ['second.incoming', 'second.outgoing'], 'a removed extension runs no more')
  h.core.extensions.remove(second)
  t.equal(h.core.extensions.hasOutgoing, false)
})

t.test('applicationPattern: a valid channel or pattern, never a meta channel', async t => {
  const h = await CoreHarness.start(t)
  t.equal(h.core.applicationPattern('/a/*', 'listen to'), '/a/*')
  t.equal(h.core.applicationPattern('/service/**', 'authorize'), '/service/**')
  t.throws(() => h.core.applicationPattern('/meta/connect', 'listen to'), { code: 'BAYEUX_ERR_INVALID_CHANNEL', message: 'Cannot listen to "/meta/connect"' })
  t.throws(() => h.core.applicationPattern('/a/*/b', 'authorize'), { code: 'BAYEUX_ERR_INVALID_CHANNEL', message: 'Cannot authorize "/a/*/b"' })
})

t.test('badInput: what transports refuse is logged once and told to diagnostics subscribers', async t => {
  const heard: unknown[] = []
  const listener = (message: unknown): void => { heard.push(message) }
  diagnosticsChannel.subscribe('bayeux-server:bad-input', listener)
  t.teardown(() => diagnosticsChannel.unsubscribe('bayeux-server:bad-input', listener))
  const h = await CoreHarness.start(t)
  t.equal(h.core.log, h.log, 'the core logs through its reporter')
  h.core.badInput({ transport: 'websocket', remoteAddress: '192.0.2.9' }, 'not_json', 'frame is not JSON', { bytes: 3 })
  t.same(heard, [{ server: h.events, transport: 'websocket', reason: 'not_json', message: 'frame is not JSON', bytes: 3 }])
  t.same(h.log.lines, [{ level: 'warn', object: { transport: 'websocket', remoteAddress: '192.0.2.9', reason: 'not_json', bytes: 3 }, message: 'bad input: frame is not JSON' }])
})

t.test('the engine delivers to local sessions only; start is idempotent', async t => {
  const h = await CoreHarness.start(t)
  t.equal(h.core.start(), h.core.start(), 'one start')
  const socket = new FakePushLink()
  const clientId = await h.connected(socket)
  await h.reply(socket, h.subscribe(clientId, '/a'))
  const event = OutgoingEvent.of({ channel: '/a', data: 1 })
  await h.core.engine.createSession('not-here', { ack: false })
  await h.core.engine.subscribe('not-here', '/a')
  await h.core.engine.publish(event, ['/a'])
  await flushed()
  t.same(socket.pushed, [{ channel: '/a', data: 1 }], 'delivered to the local subscriber; an id of no local session is ignored')
})
