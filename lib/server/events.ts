import type { EventMessage } from '../protocol/message.ts'
import type { EndReason, ServerSession } from './session.ts'

/** The events a BayeuxServer emits, with their arguments. */
export interface BayeuxEvents {
  handshake: [session: ServerSession]
  subscribe: [session: ServerSession, channel: string]
  unsubscribe: [session: ServerSession, channel: string]
  publish: [message: EventMessage, session: ServerSession | undefined]
  disconnect: [session: ServerSession, reason: EndReason]
  /** A session's queue was full and `dropped` events were discarded. */
  overflow: [session: ServerSession, dropped: number]
}
