// /service/ channels: remote calls, service publishes that are never broadcast, server-side disconnect.
import { ECHO_CHANNEL, KICK_CHANNEL } from '../servers/profile.ts'
import { connectedClient } from './publish.ts'
import { expect, succeeded, type Scenario } from './scenario.ts'

export const serviceScenarios: Scenario[] = [
  {
    name: 'remote-call-echo',
    description: 'remoteCall() to the echo service resolves with the response carrying the request id.',
    checklist: ['C65', 'C66'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const response = await a.remoteCall(ECHO_CHANNEL, { question: 42 })
      expect(response.successful === true && response.data?.question === 42, 'echo response', response)
      await a.disconnect()
    }
  },
  {
    name: 'remote-call-concurrent',
    description: 'Three remote calls in flight at once are each answered with their own id.',
    checklist: ['C09', 'C66'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const responses = await Promise.all([1, 2, 3].map(n => a.remoteCall(ECHO_CHANNEL, { n })))
      expect(responses.map(r => r.data?.n).join() === '1,2,3', 'each call its own answer', responses)
      await a.disconnect()
    }
  },
  {
    name: 'service-subscribe-noop',
    description: 'Subscribing to a service channel succeeds (no-op) and remote calls still work.',
    checklist: ['C44', 'C66'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      succeeded(await a.subscribe(ECHO_CHANNEL), 'subscribe to the service channel')
      const response = await a.remoteCall(ECHO_CHANNEL, 'ping')
      expect(response.data === 'ping', 'echo', response)
      await a.disconnect()
    }
  },
  {
    name: 'service-publish-not-broadcast',
    description: 'A publish to a service channel is acked and not delivered to another client subscribed to it.',
    checklist: ['C44', 'C65'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const b = await connectedClient(s, 'B')
      const marker = s.channel('marker')
      succeeded(await a.subscribe('/service/quiet'), 'subscribe /service/quiet')
      await a.subscribe(marker)
      succeeded(await b.publish('/service/quiet', 'for the server only'), 'service publish')
      await b.publish(marker, 'after')
      await a.received(marker, 1)
      await b.disconnect()
      await a.disconnect()
    }
  },
  {
    name: 'server-side-disconnect',
    description: 'The server disconnects a session: /meta/disconnect without id is delivered and the held connect says reconnect:none.',
    checklist: ['C72', 'C74'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      await s.sleep(200)
      await a.publish(KICK_CHANNEL, 'bye')
      await a.metaReplies('/meta/disconnect', 1)
    }
  }
]
