// Error replies real clients provoke: forbidden and invalid channels.
import { FORBIDDEN_PREFIX } from '../servers/profile.ts'
import type { Message } from '../trace.ts'
import { connectedClient } from './publish.ts'
import { expect, replacing, type Correction, type Scenario } from './scenario.ts'

/** C63 / §10 A4: CometD accepts wildcard publishes; docs/protocol.md recommends refusing them with 405. */
function refuseWildPublish (channel: string): Correction {
  return replacing(
    'C63',
    'cometd-nodejs-server acknowledges a publish to a wildcard channel with successful:true; docs/protocol.md (C63, §10 A4) requires successful:false with a 405 error, which is what this trace expects.',
    (message: Message) => message.channel === channel && 'successful' in message && !('data' in message),
    (message: Message) => ({ id: message.id, channel, successful: false, error: `405:${channel}:channel_invalid` })
  )
}

/** C52 / §10 A20: a mid-path wildcard subscription must be refused. */
function refuseMidPathWildcard (subscription: string): Correction {
  return replacing(
    'C52',
    'cometd-nodejs-server accepts a subscription with a wildcard in the middle of the channel; docs/protocol.md (C52, §10 A20) requires an error reply (403::subscription_invalid or 405), which is what this trace expects.',
    (message: Message) => message.channel === '/meta/subscribe' && message.subscription === subscription,
    (message: Message) => ({ id: message.id, channel: '/meta/subscribe', subscription, successful: false, error: '403::subscription_invalid' })
  )
}

const WILD_PUBLISH = '/publish-to-wildcard/x/*'
const MID_WILDCARD = '/subscribe-mid-path-wildcard/a/*/b'

export const errorScenarios: Scenario[] = [
  {
    name: 'publish-forbidden-channel',
    description: 'A publish the security policy refuses fails with a 403 error.',
    checklist: ['C69'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const reply = await a.publish(`${FORBIDDEN_PREFIX}secret`, 'no')
      expect(reply.successful === false, 'publish refused', reply)
      await a.disconnect()
    }
  },
  {
    name: 'subscribe-forbidden-channel',
    description: 'A subscription the security policy refuses fails with a 403 error and echoes the subscription.',
    checklist: ['C41', 'C49'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const reply = await a.subscribe(`${FORBIDDEN_PREFIX}secret`)
      expect(reply.successful === false, 'subscribe refused', reply)
      await a.disconnect()
    }
  },
  {
    name: 'subscribe-meta-channel',
    description: 'A remote client may not subscribe to a /meta/ channel: 403.',
    checklist: ['C45'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const reply = await a.subscribe('/meta/custom')
      expect(reply.successful === false, 'subscribe refused', reply)
      await a.disconnect()
    }
  },
  {
    name: 'publish-to-wildcard',
    description: 'Publishing to a wildcard channel is refused with 405 (the JS client does not block it).',
    checklist: ['C63'],
    corrections: [refuseWildPublish(WILD_PUBLISH)],
    async run (s) {
      const a = await connectedClient(s, 'A')
      await a.publish(WILD_PUBLISH, 'nowhere')
      await a.disconnect()
    }
  },
  {
    name: 'subscribe-mid-path-wildcard',
    description: 'Subscribing to a channel with a wildcard before its last segment is refused.',
    checklist: ['C52'],
    corrections: [refuseMidPathWildcard(MID_WILDCARD)],
    async run (s) {
      const a = await connectedClient(s, 'A')
      await a.subscribe(MID_WILDCARD)
      await a.disconnect()
    }
  },
  {
    name: 'failed-then-good-subscribe',
    description: 'A refused subscription does not disturb the session: the next subscribe and publish work.',
    checklist: ['C49', 'C53', 'C59'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      await a.subscribe(`${FORBIDDEN_PREFIX}room`)
      const room = s.channel('room')
      await a.subscribe(room)
      await a.publish(room, 'still fine')
      await a.received(room, 1)
      await a.disconnect()
    }
  }
]
