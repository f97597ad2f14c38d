// Session lifecycle: expiry, re-handshake, the 402 that follows a disconnect, resuming after reload.
import { OPTIONS } from '../servers/profile.ts'
import { connectedClient } from './publish.ts'
import { ECHO_SUBSCRIPTION, expect, succeeded, type Scenario } from './scenario.ts'

/** Long enough for the server to expire a session that stopped connecting (interval + maxInterval + sweep). */
const EXPIRY_WAIT_MS = OPTIONS.timeout + OPTIONS.interval + OPTIONS.maxInterval + 1500

export const lifecycleScenarios: Scenario[] = [
  {
    name: 'session-expiry-rehandshake',
    description: 'A client cut off longer than maxInterval gets 402 + reconnect:handshake, handshakes again and resubscribes.',
    checklist: ['C26', 'C75', 'C76'],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const b = await connectedClient(s, 'B')
      const news = s.channel('news')
      await a.subscribe(news)
      const release = s.partition('A')
      await s.sleep(EXPIRY_WAIT_MS)
      release()
      const handshakes = await a.metaReplies('/meta/handshake', 2)
      succeeded(handshakes[1] ?? {}, 're-handshake')
      await a.connected(2)
      await a.subscribe(news)
      await b.publish(news, 'after expiry')
      await a.received(news, 1)
      await b.disconnect()
      await a.disconnect()
    }
  },
  {
    name: 'expired-session-subscribe',
    description: 'A subscribe from an expired session fails with 402 (no reconnect advice); the client then handshakes again.',
    checklist: ['C26', 'C41', 'C47', 'C75'],
    corrections: [ECHO_SUBSCRIPTION],
    async run (s) {
      const a = await connectedClient(s, 'A')
      const release = s.partition('A')
      await s.sleep(EXPIRY_WAIT_MS)
      const reply = a.subscribe(s.channel('late'))
      await s.sleep(100)
      release()
      expect((await reply).successful === false, 'subscribe refused', await reply)
      await a.metaReplies('/meta/handshake', 2)
      await a.connected(2)
      await a.disconnect()
    }
  },
  {
    name: 'reload-resumes-session',
    description: 'After a page reload (reload extension) a new client instance connects with the old clientId and goes on.',
    checklist: ['C22', 'C90'],
    transports: ['long-polling', 'websocket'],
    async run (s) {
      const first = await connectedClient(s, 'A', { reload: true })
      const b = await connectedClient(s, 'B')
      const chat = s.channel('chat')
      await first.subscribe(chat)
      await first.reload()
      const second = await s.client('A', { reload: true })
      const handshake = await second.handshake()
      expect(handshake.ext?.reload === true, 'handshake replayed from storage', handshake)
      await second.connected()
      await second.subscribe(chat)
      await b.publish(chat, 'after reload')
      await second.received(chat, 1)
      await b.disconnect()
      await second.disconnect()
    }
  },
  {
    name: 'disconnected-session-402',
    description: 'A client reusing a clientId that was disconnected gets 402 + reconnect:handshake and handshakes again.',
    checklist: ['C26', 'C71', 'C73'],
    transports: ['long-polling', 'websocket'],
    async run (s) {
      const first = await connectedClient(s, 'A', { reload: true })
      await first.reload()
      succeeded(await first.disconnect(), 'disconnect')
      const second = await s.client('A', { reload: true })
      await second.handshake()
      const handshakes = await second.metaReplies('/meta/handshake', 2)
      expect(typeof handshakes[1]?.clientId === 'string', 'real handshake after 402', handshakes)
      await second.connected()
      await second.disconnect()
    }
  },
  {
    name: 'two-sessions-one-browser',
    description: 'Two sessions sharing one BAYEUX_BROWSER cookie: only one connect is held, the other is told multiple-clients.',
    checklist: ['C24', 'C38'],
    transports: ['long-polling'],
    async run (s) {
      const first = await connectedClient(s, 'A')
      await s.sleep(200)
      const second = await connectedClient(s, 'A')
      await s.sleep(OPTIONS.timeout)
      await second.disconnect()
      await first.disconnect()
    }
  }
]
