// Client extensions that put extra fields on the wire (§6): the server must tolerate them.
import { connectedClient } from './publish.ts'
import { expect, type Scenario } from './scenario.ts'

export const extensionScenarios: Scenario[] = [
  {
    name: 'timesync-extension',
    description: 'ext.timesync on every meta message is tolerated (answering it is optional).',
    checklist: ['C98', 'C99'],
    async run (s) {
      const a = await connectedClient(s, 'A', { timesync: true })
      const ping = s.channel('ping')
      await a.subscribe(ping)
      await a.publish(ping, 'tick')
      await a.received(ping, 1)
      await a.disconnect()
    }
  },
  {
    name: 'timestamp-extension',
    description: 'A top-level timestamp on every message is ignored, not rejected.',
    checklist: ['C13'],
    async run (s) {
      const a = await connectedClient(s, 'A', { timestamp: true })
      const ping = s.channel('ping')
      await a.subscribe(ping)
      await a.publish(ping, 'tock')
      await a.received(ping, 1)
      await a.disconnect()
    }
  },
  {
    name: 'binary-extension',
    description: 'A binary publish (Z85 data, ext.binary) reaches the subscriber unchanged.',
    checklist: ['C55', 'C58'],
    async run (s) {
      const a = await connectedClient(s, 'A', { binary: true })
      const b = await connectedClient(s, 'B', { binary: true })
      const blob = s.channel('blob')
      await a.subscribe(blob)
      await b.publishBinary(blob, [0, 1, 2, 3, 250, 251, 252, 253])
      const [event] = await a.received(blob, 1)
      expect(event?.ext?.binary !== undefined, 'binary ext kept', event)
      await b.disconnect()
      await a.disconnect()
    }
  }
]
