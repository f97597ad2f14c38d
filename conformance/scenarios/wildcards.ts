// Channel patterns `*` and `**`, alone and overlapping (§2.3).
import { connectedClient } from './publish.ts'
import { isDeepStrictEqual } from 'node:util'
import type { Message } from '../trace.ts'
import { isReply } from '../wire.ts'
import { expect, succeeded, type Correction, type Scenario } from './scenario.ts'

/** C60: one copy per session even when several of its subscriptions match. */
const ONE_COPY: Correction = {
  checklist: 'C60',
  note: 'cometd-nodejs-server delivers one copy of the event per matching subscription (three for /x/a, /x/*, /x/**); docs/protocol.md (C60, §2.3) requires exactly one copy per session, which is what this trace expects.',
  correct: (received: Message[], earlier: Message[]) => received.filter((message, index) =>
    isReply(message) || ![...earlier, ...received.slice(0, index)].some(other => !isReply(other) && other.channel === message.channel && isDeepStrictEqual(other.data, message.data)))
}

export const wildcardScenarios: Scenario[] = [
  {
    name: 'wildcard-single-segment',
    description: '/x/* matches /x/a only: not /x itself, not /x/a/b.',
    checklist: ['C43', 'C61'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const b = await connectedClient(s, 'B')
      succeeded(await a.subscribe(s.channel('x/*')), 'subscribe /x/*')
      for (const name of ['x', 'x/a/b', 'x/a', 'x/end']) await b.publish(s.channel(name), name)
      expect((await a.received(s.channel('x/*'), 2)).map(m => m.data).join() === 'x/a,x/end', 'only one-segment matches')
      await b.disconnect()
      await a.disconnect()
    }
  },
  {
    name: 'wildcard-multi-segment',
    description: '/x/** matches /x/a and /x/a/b but not /x.',
    checklist: ['C43', 'C61'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const b = await connectedClient(s, 'B')
      succeeded(await a.subscribe(s.channel('x/**')), 'subscribe /x/**')
      for (const name of ['x', 'x/a', 'x/a/b', 'x/a/b/c']) await b.publish(s.channel(name), name)
      expect((await a.received(s.channel('x/**'), 3)).length === 3, 'three matches')
      await b.disconnect()
      await a.disconnect()
    }
  },
  {
    name: 'wildcard-overlapping-one-copy',
    description: 'A client subscribed to /x/a, /x/* and /x/** gets one copy of an event on /x/a; the client fans it out.',
    checklist: ['C48', 'C60'],
    corrections: [ONE_COPY],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const b = await connectedClient(s, 'B')
      for (const pattern of ['x/a', 'x/*', 'x/**']) await a.subscribe(s.channel(pattern))
      await b.publish(s.channel('x/a'), 'once')
      await b.publish(s.channel('x/a/deeper'), 'deeper')
      await a.received(s.channel('x/**'), 2)
      await a.received(s.channel('x/a'), 1)
      await b.disconnect()
      await a.disconnect()
    }
  },
  {
    name: 'wildcard-two-clients',
    description: 'With A on /x/* and B on /x/**, an event on /x/y/z reaches B only and one on /x/y reaches both.',
    checklist: ['C61'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const b = await connectedClient(s, 'B')
      const c = await connectedClient(s, 'C')
      await a.subscribe(s.channel('x/*'))
      await b.subscribe(s.channel('x/**'))
      await c.publish(s.channel('x/y/z'), 'deep')
      await c.publish(s.channel('x/y'), 'shallow')
      await b.received(s.channel('x/**'), 2)
      expect((await a.received(s.channel('x/*'), 1)).map(m => m.data).join() === 'shallow', 'A only gets /x/y')
      for (const client of [c, b, a]) await client.disconnect()
    }
  },
  {
    name: 'wildcard-root',
    description: '/** receives every broadcast channel, but never service messages.',
    checklist: ['C61', 'C62', 'C65'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const b = await connectedClient(s, 'B')
      succeeded(await a.subscribe('/**'), 'subscribe /**')
      await b.publish('/service/quiet', 'private')
      await b.publish(s.channel('one'), 1)
      await b.publish(s.channel('one/two/three'), 3)
      const events = await a.received('/**', 2)
      expect(events.map(m => m.data).join() === '1,3', 'broadcast only', events)
      await b.disconnect()
      await a.disconnect()
    }
  }
]
