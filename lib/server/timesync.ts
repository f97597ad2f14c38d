import type { Message, Reply } from '../protocol/message.ts'
import type { Extension } from './extensions.ts'

/** Below this estimated error (ms) the client's clock estimate is good enough. */
const ACCURACY = 25

/** When each meta request carrying `ext.timesync` arrived. */
const received = new WeakMap<Message, number>()

interface ClientTimesync { tc: number, l?: number, o?: number }

function clientTimesync (message: Message): ClientTimesync | undefined {
  const value = message.ext?.['timesync'] as Partial<ClientTimesync> | undefined
  return typeof value === 'object' && value !== null && typeof value.tc === 'number' ? value as ClientTimesync : undefined
}

/**
 * The timesync extension (docs/protocol.md §6.3, C98): tells the client when its meta
 * message arrived and how long the server held it, so it can estimate lag and offset.
 */
export const timesync: Extension = {
  incoming (message) {
    if (message.channel.startsWith('/meta/') && clientTimesync(message) !== undefined) received.set(message, Date.now())
  },
  outgoing (reply, _session, request) {
    if (request === undefined || !('successful' in reply)) return
    const ts = received.get(request)
    if (ts === undefined) return
    const { tc, l, o } = clientTimesync(request)!
    const p = Date.now() - ts
    if (typeof l !== 'number' || typeof o !== 'number') {
      addExt(reply, { tc, ts, p })
      return
    }
    const a = tc + o + l - ts
    if (l === 0 || Math.abs(a) >= ACCURACY) addExt(reply, { tc, ts, p, a })
  }
}

function addExt (reply: Reply, value: object): void {
  reply.ext = { ...reply.ext, timesync: value }
}
