import type { EventMessage, Message, Reply } from '../protocol/message.ts'
import type { ServerSession } from './session.ts'

type MaybePromise<T> = T | Promise<T>

/**
 * A server-wide extension (BAYEUX.md §6.1). Hooks may be async. `incoming` runs on
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
export const HOOKS = ['incoming', 'outgoing'] as const

/** Runs extension hooks, awaiting only those that return promises. */
export class ExtensionChain {
  readonly #extensions: Extension[] = []

  get size (): number {
    return this.#extensions.length
  }

  add (extension: Extension): void {
    this.#extensions.push(extension)
  }

  remove (extension: Extension): void {
    const index = this.#extensions.indexOf(extension)
    if (index >= 0) this.#extensions.splice(index, 1)
  }

  async incoming (message: Message, session: ServerSession | undefined): Promise<Message | null> {
    for (const extension of this.#extensions) {
      if (extension.incoming === undefined) continue
      let result = extension.incoming(message, session)
      if (result instanceof Promise) result = await result
      if (result === null) return null
      if (result !== undefined) message = result
    }
    return message
  }

  async outgoing<T extends Reply | EventMessage> (message: T, session: ServerSession | undefined, request: Message | undefined): Promise<T | null> {
    for (let i = this.#extensions.length - 1; i >= 0; i--) {
      const extension = this.#extensions[i]!
      if (extension.outgoing === undefined) continue
      let result = extension.outgoing(message, session, request)
      if (result instanceof Promise) result = await result
      if (result === null) return null
      if (result !== undefined) message = result as T
    }
    return message
  }
}
