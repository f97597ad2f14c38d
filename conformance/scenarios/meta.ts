// The five meta channels as the CometD client uses them.
import { expect, succeeded, type Scenario } from './scenario.ts'

export const metaScenarios: Scenario[] = [
  {
    name: 'handshake-connect-disconnect',
    description: 'Handshake, first connect (answered at once), disconnect: the minimal session.',
    checklist: ['C09', 'C10', 'C11', 'C15', 'C16', 'C24', 'C27', 'C28', 'C29', 'C71'],
    async run (s) {
      const a = await s.client('A')
      succeeded(await a.handshake(), 'handshake')
      await a.connected()
      succeeded(await a.disconnect(), 'disconnect')
    }
  },
  {
    name: 'connect-held-until-timeout',
    description: 'With nothing to deliver the second connect is held for advice.timeout, then answered; the client reconnects.',
    checklist: ['C30', 'C31', 'C76'],
    async run (s) {
      const a = await s.client('A')
      await a.handshake()
      await a.connected(3)
      succeeded(await a.disconnect(), 'disconnect')
    }
  },
  {
    name: 'subscribe-unsubscribe',
    description: 'Subscribe and unsubscribe replies echo the subscription; no events after unsubscribing.',
    checklist: ['C41', 'C43', 'C51', 'C53'],
    async run (s) {
      const a = await s.client('A')
      await a.handshake()
      await a.connected()
      const topic = s.channel('topic')
      const marker = s.channel('marker')
      succeeded(await a.subscribe(topic), 'subscribe')
      succeeded(await a.subscribe(marker), 'subscribe marker')
      await a.publish(topic, { n: 1 })
      await a.received(topic, 1)
      succeeded(await a.unsubscribe(topic), 'unsubscribe')
      await a.publish(topic, { n: 2 })
      await a.publish(marker, { after: 'unsubscribe' })
      await a.received(marker, 1)
      expect((await a.received(topic, 1)).length === 1, 'no event after unsubscribe')
      await a.disconnect()
    }
  },
  {
    name: 'disconnect-releases-held-connect',
    description: 'A disconnect sent while a connect is held releases the held connect.',
    checklist: ['C36', 'C71', 'C72'],
    async run (s) {
      const a = await s.client('A')
      await a.handshake()
      await a.connected()
      await s.sleep(300)
      succeeded(await a.disconnect(), 'disconnect')
    }
  },
  {
    name: 'handshake-with-custom-ext',
    description: 'Unknown ext keys on the handshake (e.g. credentials) are ignored and not echoed.',
    checklist: ['C13', 'C25', 'C99'],
    async run (s) {
      const a = await s.client('A')
      succeeded(await a.handshake({ ext: { credentials: { user: 'conformance' } } }), 'handshake')
      await a.connected()
      await a.disconnect()
    }
  }
]
