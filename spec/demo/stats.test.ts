/**
 * lib/demo/stats.ts: the figures of the demo page, counted from the server's own
 * events (driven here by emitting them, without sockets).
 */
import t from 'tap'
import { DemoStats } from '../../lib/demo/stats.ts'
import { BayeuxServer } from '../../lib/server/bayeux-server.ts'
import type { EventMessage } from '../../lib/protocol/message.ts'
import type { ServerSession } from '../../lib/server/session.ts'

const STATS = '/demo/stats'
const EVENTS = ['subscribe', 'unsubscribe', 'disconnect', 'publish'] as const

/** A session as the events carry it: only its subscriptions matter here. */
function session (...subscriptions: string[]): ServerSession {
  return { id: subscriptions.join(), subscriptions: new Set(subscriptions) } as unknown as ServerSession
}

function subscribe (bayeux: BayeuxServer, who: ServerSession, channel: string): void {
  (who.subscriptions as Set<string>).add(channel)
  bayeux.emit('subscribe', who, channel)
}

function publish (bayeux: BayeuxServer, channel: string): void {
  bayeux.emit('publish', { channel, data: 'x' } as EventMessage, undefined)
}

t.test('nothing listens to the server until the stats are made, nor after they stop', async t => {
  const bayeux = new BayeuxServer()
  t.same(EVENTS.map(event => bayeux.listenerCount(event)), [0, 0, 0, 0])
  const stats = new DemoStats(bayeux, STATS, 0)
  t.same(EVENTS.map(event => bayeux.listenerCount(event)), [1, 1, 1, 1])
  stats.stop()
  t.same(EVENTS.map(event => bayeux.listenerCount(event)), [0, 0, 0, 0])
  subscribe(bayeux, session(), '/a')
  publish(bayeux, '/a')
  t.same(stats.take(1000), { sessions: 0, channels: 0, messagesPerSecond: 0 }, 'a stopped count moves no more')
})

t.test('channels: those with at least one subscriber, whoever subscribed first', async t => {
  const bayeux = new BayeuxServer()
  const stats = new DemoStats(bayeux, STATS, 0)
  const [alice, bob] = [session(), session()]
  subscribe(bayeux, alice, '/a')
  subscribe(bayeux, bob, '/a')
  subscribe(bayeux, alice, '/b/**')
  t.equal(stats.take(1000).channels, 2, 'a channel with two subscribers counts once; a wildcard pattern counts')
  ;(alice.subscriptions as Set<string>).delete('/a')
  bayeux.emit('unsubscribe', alice, '/a')
  t.equal(stats.take(2000).channels, 2, '/a keeps its other subscriber')
  bayeux.emit('disconnect', bob, 'client')
  t.equal(stats.take(3000).channels, 1, 'an ended session takes its subscriptions with it')
  bayeux.emit('disconnect', alice, 'expired')
  t.equal(stats.take(4000).channels, 0)
  bayeux.emit('unsubscribe', alice, '/never')
  bayeux.emit('disconnect', session('/unknown'), 'server')
  t.equal(stats.take(5000).channels, 0, 'what was never counted is never taken away')
})

t.test('messages per second: publishes since the last figures, not counting the figures themselves', async t => {
  const bayeux = new BayeuxServer()
  const stats = new DemoStats(bayeux, STATS, 10_000)
  for (let i = 0; i < 6; i++) publish(bayeux, '/chat')
  publish(bayeux, STATS)
  publish(bayeux, '/service/echo')
  t.equal(stats.take(12_000).messagesPerSecond, 3.5, '7 messages in 2 s')
  t.equal(stats.take(13_000).messagesPerSecond, 0, 'each figure covers its own window')
  publish(bayeux, '/chat')
  t.equal(stats.take(16_000).messagesPerSecond, 0.3, 'rounded to a tenth')
  publish(bayeux, '/chat')
  t.equal(stats.take(16_000).messagesPerSecond, 0, 'a window of no time gives 0, not Infinity')
})
