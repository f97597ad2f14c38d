/**
 * The engine contract kit: what every Engine (memory now, Redis later) must do for
 * the protocol core (lib/engines/engine.ts). Run it from an engine's test file:
 *   engineContract(t, () => new MemoryEngine())
 * Every call is awaited, and deliveries are awaited too, so engines whose delivery
 * reaches the host asynchronously (through a broker) pass as well as synchronous ones.
 */
import type { Test } from 'tap'
import type { Engine, EngineHost } from '../../lib/engines/engine.ts'
import { ChannelParser } from '../../lib/protocol/channel.ts'
import { OutgoingEvent } from '../../lib/protocol/outgoing-event.ts'
import { delay } from '../helpers.ts'

/** Every live session of a harness is subscribed here, to learn when deliveries have settled. */
const FENCE = '/contract/fence'

const parser = new ChannelParser({ maxLength: 512, maxDepth: 32 })

interface Delivery { sessionId: string, event: OutgoingEvent }

/** An engine started on a recording host, with the steps the tests are made of. */
class Harness implements EngineHost {
  readonly engine: Engine
  readonly deliveries: Delivery[] = []
  readonly #live = new Set<string>()
  #fences = 0

  constructor (engine: Engine) {
    this.engine = engine
  }

  deliver (sessionId: string, event: OutgoingEvent): void {
    this.deliveries.push({ sessionId, event })
  }

  /** Creates a session, subscribed to `patterns` (and to the fence). */
  async session (id: string, ...patterns: string[]): Promise<string> {
    await this.engine.createSession(id)
    await this.engine.subscribe(id, FENCE)
    for (const pattern of patterns) await this.engine.subscribe(id, pattern)
    this.#live.add(id)
    return id
  }

  async destroy (id: string): Promise<void> {
    await this.engine.destroySession(id)
    this.#live.delete(id)
  }

  /** Starts a publish on `channel` (a concrete channel name); await the result to finish it. */
  publish (channel: string, data: unknown = null): { event: OutgoingEvent, done: Promise<void> } {
    const event = new OutgoingEvent({ channel, data })
    return { event, done: Promise.resolve(this.engine.publish(event, parser.parse(channel)!.expansion)) }
  }

  /**
   * Waits until every live session has received a fence published after everything
   * so far. Delivery per session is FIFO (C70), so each live session then has all it
   * will ever get of earlier publishes; sessions that get nothing (destroyed ones)
   * are covered by the live ones receiving the same publishes alongside them.
   */
  async settle (): Promise<void> {
    const fence = ++this.#fences
    await this.publish(FENCE, fence).done
    const isFence = (event: OutgoingEvent): boolean => event.channel === FENCE && (event.message as { data: unknown }).data === fence
    for (let round = 0; round < 2_000; round++) {
      const reached = new Set(this.deliveries.filter(d => isFence(d.event)).map(d => d.sessionId))
      if ([...this.#live].every(id => reached.has(id))) return
      await delay(5)
    }
    throw new Error('the fence publish did not reach every live session')
  }

  /** The events `sessionId` received, fences left out, in delivery order. */
  received (sessionId: string): OutgoingEvent[] {
    return this.deliveries.filter(d => d.sessionId === sessionId && d.event.channel !== FENCE).map(d => d.event)
  }

  /** The data of the events `sessionId` received, in delivery order. */
  dataAt (sessionId: string): unknown[] {
    return this.received(sessionId).map(event => (event.message as { data: unknown }).data)
  }
}

async function start (t: Test, makeEngine: () => Engine | Promise<Engine>): Promise<Harness> {
  const harness = new Harness(await makeEngine())
  await harness.engine.start(harness)
  t.teardown(() => harness.engine.close())
  return harness
}

export function engineContract (t: Test, makeEngine: () => Engine | Promise<Engine>): void {
  t.test('sessions are created and destroyed, each call idempotent', async t => {
    const h = await start(t, makeEngine)
    await h.engine.createSession('s1')
    await h.session('s1', '/idempotent')
    await h.destroy('s1')
    await h.engine.destroySession('s1')
    await h.engine.destroySession('never')
    await h.session('s2', '/idempotent')
    await h.publish('/idempotent', 1).done
    await h.settle()
    t.same(h.dataAt('s2'), [1], 'the engine still works')
    t.same(h.dataAt('s1'), [], 'a destroyed session receives nothing')
  })

  t.test('a publish reaches subscribers of its exact channel, and only them', async t => {
    const h = await start(t, makeEngine)
    await h.session('a', '/chat/room')
    await h.session('b', '/chat/room')
    await h.session('other', '/chat/other')
    await h.publish('/chat/room', 'hi').done
    await h.publish('/chat/nobody', 'lost').done
    await h.settle()
    t.same(h.dataAt('a'), ['hi'])
    t.same(h.dataAt('b'), ['hi'])
    t.same(h.dataAt('other'), [], 'a subscriber of another channel gets nothing')
  })

  t.test('* matches exactly one segment (C61)', async t => {
    const h = await start(t, makeEngine)
    await h.session('s', '/a/*')
    for (const channel of ['/a', '/a/b', '/ab', '/a/b/c', '/b/c', '/a/c']) await h.publish(channel, channel).done
    await h.settle()
    t.same(h.dataAt('s'), ['/a/b', '/a/c'], '/a/* matches /a/b, not /a, /ab or /a/b/c')
  })

  t.test('** matches one or more segments (C61)', async t => {
    const h = await start(t, makeEngine)
    await h.session('s', '/a/**')
    await h.session('root', '/**')
    await h.session('top', '/*')
    const channels = ['/a', '/a/b', '/ab', '/a/b/c', '/b/c', '/a/b/c/d']
    for (const channel of channels) await h.publish(channel, channel).done
    await h.settle()
    t.same(h.dataAt('s'), ['/a/b', '/a/b/c', '/a/b/c/d'], '/a/** matches below /a, not /a itself')
    t.same(h.dataAt('root'), channels, '/** matches every channel')
    t.same(h.dataAt('top'), ['/a', '/ab'], '/* matches one-segment channels only')
  })

  t.test('a session gets one copy however many of its patterns match (C60, C48)', async t => {
    const h = await start(t, makeEngine)
    await h.session('all', '/a/b', '/a/*', '/a/**', '/**')
    await h.session('twice', '/a/b')
    await h.engine.subscribe('twice', '/a/b')
    await h.session('single', '/a/*')
    await h.publish('/a/b', 1).done
    await h.publish('/a/b/c', 2).done
    await h.settle()
    t.same(h.dataAt('all'), [1, 2], 'exact, *, ** and /** subscriber: one copy of each event')
    t.same(h.dataAt('twice'), [1], 'subscribing twice to a channel: one copy')
    t.same(h.dataAt('single'), [1], 'a wildcard alone: one copy')
  })

  t.test('every recipient is handed the same Event, serialized once', async t => {
    const h = await start(t, makeEngine)
    for (const id of ['a', 'b', 'c']) await h.session(id, id === 'c' ? '/x/**' : '/x/y')
    const { event, done } = h.publish('/x/y', { text: 'shared' })
    await done
    await h.settle()
    const handed = ['a', 'b', 'c'].map(id => h.received(id))
    t.same(handed.map(events => events.length), [1, 1, 1], 'each session got the event')
    const [first] = handed[0]!
    t.ok(handed.every(([other]) => other === first), 'one Event object for all recipients')
    t.equal(first!.json, event.json, 'with the published content')
  })

  t.test('unsubscribe stops delivery of that pattern only (C51)', async t => {
    const h = await start(t, makeEngine)
    await h.session('s', '/a/b', '/a/*')
    await h.session('peer', '/a/b')
    await h.engine.unsubscribe('s', '/a/b')
    await h.publish('/a/b', 1).done
    await h.engine.unsubscribe('s', '/a/*')
    await h.publish('/a/b', 2).done
    await h.settle()
    t.same(h.dataAt('s'), [1], 'still reached through /a/* until that is dropped too')
    t.same(h.dataAt('peer'), [1, 2], 'another subscriber of the channel keeps it')
  })

  t.test('unsubscribing from an unknown pattern or session is harmless (C50)', async t => {
    const h = await start(t, makeEngine)
    await h.session('s', '/a')
    await h.engine.unsubscribe('s', '/never/subscribed')
    await h.engine.unsubscribe('s', '/a/**')
    await h.engine.unsubscribe('ghost', '/a')
    await h.publish('/a', 1).done
    await h.settle()
    t.same(h.dataAt('s'), [1], 'the session keeps its real subscription')
  })

  t.test('destroySession drops its subscriptions', async t => {
    const h = await start(t, makeEngine)
    await h.session('gone', '/a', '/a/**', '/**')
    await h.session('witness', '/a', '/a/**')
    await h.destroy('gone')
    await h.publish('/a', 1).done
    await h.publish('/a/b', 2).done
    await h.settle()
    t.same(h.dataAt('witness'), [1, 2], 'the publishes did happen')
    t.same(h.received('gone'), [], 'nothing reaches a destroyed session')
    await h.session('gone')
    await h.publish('/a', 3).done
    await h.settle()
    t.same(h.dataAt('gone'), [], 'a new session with the same id starts without subscriptions')
  })

  t.test('delivery order per session follows publish order (C70)', async t => {
    const h = await start(t, makeEngine)
    await h.session('s', '/q/**', '/q/one')
    const expected = Array.from({ length: 40 }, (_, i) => i)
    for (const i of expected.slice(0, 20)) await h.publish(i % 2 === 0 ? '/q/one' : '/q/two/deep', i).done
    // Publishes started back to back, before any has finished, keep their order too.
    await Promise.all(expected.slice(20).map(i => h.publish(i % 2 === 0 ? '/q/one' : '/q/two/deep', i).done))
    await h.settle()
    t.same(h.dataAt('s'), expected, 'FIFO across channels and patterns')
  })
}
