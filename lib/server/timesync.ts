import type { Message, Reply } from '../protocol/message.ts'

/** Below this estimated error (ms) the client's clock estimate is good enough. */
const ACCURACY = 25

/**
 * What a meta request's `ext.timesync` asks (docs/protocol.md §6.3, C98), with when it
 * arrived: all a reply needs, so that a held connect keeps these numbers and not its request.
 */
export interface TimesyncRequest {
  /** The client's clock when it sent the request. */
  readonly tc: number
  /** The client's lag and offset estimates, when it has them. */
  readonly l: number | undefined
  readonly o: number | undefined
  /** The server's clock when the request arrived. */
  readonly ts: number
}

/** The timesync a meta message asks for, noted as it arrives; undefined when it asks for none. */
export function timesyncOf (message: Message): TimesyncRequest | undefined {
  if (!message.channel.startsWith('/meta/')) return undefined
  const value = message.ext?.['timesync'] as { tc?: unknown, l?: unknown, o?: unknown } | undefined
  if (typeof value !== 'object' || value === null || typeof value.tc !== 'number') return undefined
  return { tc: value.tc, l: numberOrUndefined(value.l), o: numberOrUndefined(value.o), ts: Date.now() }
}

const numberOrUndefined = (value: unknown): number | undefined => typeof value === 'number' ? value : undefined

/**
 * Tells the client when its request arrived and how long the server held it, so it
 * can estimate lag and offset; nothing when its estimate is good already.
 */
export function answerTimesync (reply: Reply, { tc, l, o, ts }: TimesyncRequest): void {
  const p = Date.now() - ts
  if (l === undefined || o === undefined) {
    addExt(reply, { tc, ts, p })
    return
  }
  const a = tc + o + l - ts
  if (l === 0 || Math.abs(a) >= ACCURACY) addExt(reply, { tc, ts, p, a })
}

function addExt (reply: Reply, value: object): void {
  reply.ext = { ...reply.ext, timesync: value }
}
