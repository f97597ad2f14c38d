import type { ParsedChannel } from '../protocol/channel.ts'
import type { Message } from '../protocol/message.ts'
import { denied } from '../protocol/wire-errors.ts'
import type { DenialKind } from '../protocol/wire-errors.ts'
import type { Authorizers } from './authorizers.ts'
import type { SecurityPolicy } from './security.ts'
import type { Session } from './session.ts'

export type Operation = 'subscribe' | 'publish'

const MAX_REMEMBERED_CHANNELS = 100_000

/** What each step of the chain is called, and the error it gives, per operation. */
const STEPS = {
  subscribe: { policy: 'canSubscribe', authorizer: 'canSubscribe', createDenied: 'create_denied', denied: 'subscribe_denied' },
  publish: { policy: 'canPublish', authorizer: 'canPublish', createDenied: 'channel_create_denied', denied: 'publish_denied' }
} as const satisfies Record<Operation, { policy: keyof SecurityPolicy, authorizer: string, createDenied: DenialKind, denied: DenialKind }>

/**
 * Whether a session may subscribe to or publish on a channel (docs/protocol.md §7.4): the
 * policy's canCreate the first time a channel is used, then the policy's
 * canSubscribe or canPublish, then every authorizer of the channel.
 */
export class AccessChain {
  readonly #policy: SecurityPolicy
  readonly #authorizers: Authorizers
  /** Channels already created, when the policy decides creation (canCreate); bounded. */
  readonly #created = new Set<string>()

  constructor (policy: SecurityPolicy, authorizers: Authorizers) {
    this.#policy = policy
    this.#authorizers = authorizers
  }

  /** The wire error that refuses `operation`, or undefined when it is allowed. */
  async check (operation: Operation, session: Session, channel: ParsedChannel, message: Message): Promise<string | undefined> {
    const step = STEPS[operation]
    if (!(await this.#mayCreate(session, channel, message))) return denied(step.createDenied)
    const decide = this.#policy[step.policy]
    if (decide !== undefined && !(await decide.call(this.#policy, session, channel.name, message))) return denied(step.denied)
    if (!this.#authorizers.allows(step.authorizer, session, channel)) return denied(step.denied, 'denied_by_authorizer')
    return undefined
  }

  /** May `session` receive an event on `channel`? Authorizers also filter wildcard deliveries. */
  mayReceive (session: Session, channel: ParsedChannel): boolean {
    return this.#authorizers.size === 0 || this.#authorizers.allows('canSubscribe', session, channel)
  }

  async #mayCreate (session: Session, channel: ParsedChannel, message: Message): Promise<boolean> {
    const canCreate = this.#policy.canCreate
    if (canCreate === undefined || this.#created.has(channel.name)) return true
    if (!(await canCreate.call(this.#policy, session, channel.name, message))) return false
    // A flood of distinct names must not grow memory: forgetting only means asking again.
    if (this.#created.size >= MAX_REMEMBERED_CHANNELS) this.#created.clear()
    this.#created.add(channel.name)
    return true
  }
}
