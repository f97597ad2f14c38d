import type { EventMessage, Message, Reply } from '../protocol/message.ts'
import type { MaybePromise } from '../types.ts'
import type { ServerSession } from './session.ts'

/**
 * A server-wide extension (docs/protocol.md §6.1). Hooks may be async. `incoming` runs on
 * every message from a client, in registration order, and returning null deletes the
 * message (`404::message_deleted`). `outgoing` runs in reverse order on every reply,
 * and once on every broadcast event before fan-out (session undefined); returning
 * null from it drops an event.
 */
export interface Extension {
  incoming?(message: Message, session: ServerSession | undefined): MaybePromise<Message | null | undefined | void>
  outgoing?(message: Reply | EventMessage, session: ServerSession | undefined, request: Message | undefined): MaybePromise<Reply | EventMessage | null | undefined | void>
}

/** The hooks, in the order a message meets them. */
const HOOKS = ['incoming', 'outgoing'] as const

/** A hook's result: synchronous unless some hook returned a promise. */
export type Hooked<T> = T | null | Promise<T | null>

/**
 * Runs extension hooks. The chain stays synchronous until a hook returns a promise,
 * so sync extensions (most auth checks) cost no promise per message.
 */
export class ExtensionChain {
  static readonly HOOKS = HOOKS

  /** True when `value` has at least one hook, and every hook it has is a function. */
  static isExtension (value: Extension): boolean {
    const hooks = HOOKS.filter(hook => value[hook] !== undefined)
    return hooks.length > 0 && hooks.every(hook => typeof value[hook] === 'function')
  }

  /** Extensions with an incoming hook, in registration order. */
  #incoming: Extension[] = []
  /** Extensions with an outgoing hook, in reverse registration order. */
  #outgoing: Extension[] = []

  get hasIncoming (): boolean {
    return this.#incoming.length > 0
  }

  get hasOutgoing (): boolean {
    return this.#outgoing.length > 0
  }

  add (extension: Extension): void {
    if (extension.incoming !== undefined) this.#incoming = [...this.#incoming, extension]
    if (extension.outgoing !== undefined) this.#outgoing = [extension, ...this.#outgoing]
  }

  remove (extension: Extension): void {
    this.#incoming = this.#incoming.filter(e => e !== extension)
    this.#outgoing = this.#outgoing.filter(e => e !== extension)
  }

  incoming (message: Message, session: ServerSession | undefined): Hooked<Message> {
    return run(this.#incoming, 0, message, (extension, m) => extension.incoming!(m, session))
  }

  outgoing<T extends Reply | EventMessage> (message: T, session: ServerSession | undefined, request: Message | undefined): Hooked<T> {
    return run(this.#outgoing, 0, message, (extension, m) => extension.outgoing!(m, session, request) as T | null | undefined | Promise<T | null | undefined>)
  }
}

/** Calls `hook` on each extension from `from`; null stops the chain, undefined keeps the message. */
function run<T> (
  extensions: readonly Extension[],
  from: number,
  message: T,
  hook: (extension: Extension, message: T) => T | null | undefined | void | Promise<T | null | undefined | void>
): Hooked<T> {
  for (let i = from; i < extensions.length; i++) {
    const result = hook(extensions[i]!, message)
    if (result instanceof Promise) {
      return result.then(value => value === null ? null : run(extensions, i + 1, value ?? message, hook))
    }
    if (result === null) return null
    if (result !== undefined) message = result
  }
  return message
}
