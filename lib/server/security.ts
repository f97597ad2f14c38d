import type { Message } from '../protocol/message.ts'
import type { MaybePromise } from '../types.ts'
import type { ServerSession } from './session.ts'
import type { TransportContext } from './link.ts'

/**
 * Decides who may do what (docs/protocol.md §7.4). Every method is optional (absent =
 * allow) and may be async; the reply is written once it has decided. Meta channels
 * are refused to clients before any policy is asked.
 */
export interface SecurityPolicy {
  /** `context` carries the request headers and address, e.g. for a token check. */
  canHandshake?(session: ServerSession, message: Message, context: TransportContext): MaybePromise<boolean>
  /** A publish or subscribe names a channel nobody has used yet. */
  canCreate?(session: ServerSession, channel: string, message: Message): MaybePromise<boolean>
  /** Asked for the channel or pattern subscribed to; see Authorizer for per-channel guards on wildcard deliveries. */
  canSubscribe?(session: ServerSession, channel: string, message: Message): MaybePromise<boolean>
  canPublish?(session: ServerSession, channel: string, message: Message): MaybePromise<boolean>
}
