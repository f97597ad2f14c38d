// Channel history and the replay extension (docs/replay.md), driven through the replay extension
// this package ships for the CometD client (lib/client/replay.ts). Optional like the acknowledge
// extension: the profile keeps history under HISTORY_PREFIX; a server without it fails these.
import { HISTORY_PREFIX } from '../servers/profile.ts'
import type { Msg } from './harness.ts'
import { connectedClient } from './publish.ts'
import { expect, succeeded, type Scenario, type ScenarioContext } from './scenario.ts'

const REPLAY_ALL = -2

/** A channel of the scenario whose events the server keeps. */
function historyChannel (s: ScenarioContext, name: string): string {
  return HISTORY_PREFIX + s.channel(name)
}

const numbers = (events: Msg[]): string => events.map(m => m.data.n).join()
const replayIds = (events: Msg[]): number[] => events.map(m => m.ext?.replay?.id)
const increasing = (ids: number[]): boolean => ids.every((id, i) => Number.isInteger(id) && id > 0 && (i === 0 || id > ids[i - 1]!))

export const replayScenarios: Scenario[] = [
  {
    name: 'replay-negotiation',
    description: 'The handshake reply offers replay (ext.replay:true); events of a history channel carry their id in ext.replay.id, data unchanged.',
    checklist: ['C15', 'C43', 'C53', 'C55'],
    async run (s) {
      const a = await s.client('A', { replay: {} })
      const handshake = await a.handshake()
      expect(handshake.ext?.replay === true, 'the server offers replay', handshake)
      await a.connected()
      const feed = historyChannel(s, 'feed')
      succeeded(await a.subscribe(feed), 'subscribe')
      for (const n of [1, 2]) succeeded(await a.publish(feed, { n }), `publish ${n}`)
      const events = await a.received(feed, 2)
      expect(numbers(events) === '1,2' && increasing(replayIds(events)), 'events with increasing ext.replay.id', events)
      await a.disconnect()
    }
  },
  {
    name: 'replay-all-retained',
    description: 'A subscribe with ext.replay -2 gets every retained event of the channel in order, then live ones.',
    checklist: ['C43', 'C53', 'C55', 'C70'],
    async run (s) {
      const feed = historyChannel(s, 'feed')
      const b = await connectedClient(s, 'B')
      for (const n of [1, 2, 3]) succeeded(await b.publish(feed, { n }), `publish ${n}`)
      const a = await connectedClient(s, 'A', { replay: { [feed]: REPLAY_ALL } })
      succeeded(await a.subscribe(feed), 'subscribe from -2')
      await a.received(feed, 3)
      succeeded(await b.publish(feed, { n: 4 }), 'publish 4')
      const events = await a.received(feed, 4)
      expect(numbers(events) === '1,2,3,4' && increasing(replayIds(events)), 'retained events, then the live one', events)
      await b.disconnect()
      await a.disconnect()
    }
  },
  {
    name: 'replay-from-id',
    description: 'A client that left resumes from the last replay id it saw: exactly the events published meanwhile, then live ones.',
    checklist: ['C43', 'C53', 'C55', 'C70'],
    async run (s) {
      const feed = historyChannel(s, 'feed')
      const b = await connectedClient(s, 'B')
      const first = await connectedClient(s, 'A', { replay: {} })
      succeeded(await first.subscribe(feed), 'subscribe')
      for (const n of [1, 2]) await b.publish(feed, { n })
      await first.received(feed, 2)
      const saved = await first.replayIds()
      await first.disconnect()
      for (const n of [3, 4]) await b.publish(feed, { n })
      const again = await connectedClient(s, 'A', { replay: saved })
      succeeded(await again.subscribe(feed), 'subscribe from the saved id')
      await again.received(feed, 2)
      await b.publish(feed, { n: 5 })
      const events = await again.received(feed, 3)
      expect(numbers(events) === '3,4,5', 'what was missed, then live', events)
      await b.disconnect()
      await again.disconnect()
    }
  },
  {
    name: 'replay-invalid-id',
    description: 'A replay id the server never issued fails the subscribe with 400 (Salesforce\'s invalid-id error, subscription echoed); the session goes on.',
    checklist: ['C41', 'C43', 'C53'],
    async run (s) {
      const feed = historyChannel(s, 'feed')
      const a = await connectedClient(s, 'A', { replay: { [feed]: 1 } })
      const refused = await a.subscribe(feed)
      expect(refused.successful === false && /^400::The replayId \{1\} you provided was invalid\. {2}Please provide a valid ID, -2 to replay all events, or -1 to replay only new events\.$/.test(String(refused.error)), 'the invalid-id error', refused)
      const other = historyChannel(s, 'other')
      succeeded(await a.subscribe(other), 'another subscribe')
      succeeded(await a.publish(other, { n: 1 }), 'publish')
      await a.received(other, 1)
      await a.disconnect()
    }
  }
]
