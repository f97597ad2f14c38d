import * as diagnostics from '../diagnostics.ts'
import type { Engine } from '../engines/engine.ts'
import type { ParsedChannel } from '../protocol/channel.ts'
import { HistoricEvent } from '../protocol/historic-event.ts'
import { OutgoingEvent } from '../protocol/outgoing-event.ts'
import type { EventMessage, Message, Reply } from '../protocol/message.ts'
import type { ExtensionChain } from './extensions.ts'
import type { HistoryPolicy } from './history.ts'
import { PatternRegistry } from './pattern-registry.ts'
import type { Reporter } from './reporter.ts'
import type { ServerSession } from './session.ts'

/**
 * A server-side listener for publishes on channels matching its pattern. On a
 * `/service/` channel, a value it returns (or resolves) other than undefined is sent
 * back to the caller as the answer of its remote call (C66).
 */
export type ChannelListener = (message: EventMessage, session: ServerSession | undefined) => unknown

/** Publishes: broadcasts through the engine, and service calls answered by listeners. */
export class Publisher {
  readonly listeners = new PatternRegistry<ChannelListener>()
  readonly #engine: Engine
  readonly #extensions: ExtensionChain
  readonly #reporter: Reporter
  readonly #history: HistoryPolicy | undefined

  constructor (engine: Engine, extensions: ExtensionChain, reporter: Reporter, history: HistoryPolicy | undefined) {
    this.#engine = engine
    this.#extensions = extensions
    this.#reporter = reporter
    this.#history = history
  }

  /**
   * Fans an event out to every subscriber, serialized once, after outgoing extensions
   * and listeners have seen it; false when an extension dropped it. On a channel that
   * keeps history, the engine gives it its replay id and keeps it.
   */
  async broadcast (event: EventMessage, channel: ParsedChannel, session: ServerSession | undefined, request: Message | undefined): Promise<boolean> {
    let outgoing = this.#extensions.outgoing(event, undefined, request)
    if (outgoing instanceof Promise) outgoing = await outgoing
    if (outgoing === null) return false
    const form = this.#history?.formOf(channel)
    const serialized = form === undefined ? OutgoingEvent.of(outgoing) : new HistoricEvent(outgoing, form)
    if (this.listeners.size > 0) {
      // Listeners of broadcast channels only observe: one that fails must not stop delivery.
      for (const listener of this.listeners.for(channel)) {
        try {
          await listener(outgoing, session)
        } catch (error) {
          this.#reporter.log.error({ err: error, channel: channel.name }, 'a channel listener failed')
        }
      }
    }
    if (diagnostics.publish.hasSubscribers) diagnostics.publish.publish({ message: outgoing, session })
    this.#reporter.notify('publish', outgoing, session)
    await this.#engine.publish(serialized, channel.expansion, session?.id)
    return true
  }

  /**
   * A publish on a /service/ channel (C65, C66): acknowledged, never broadcast; each
   * listener's answer goes back to the caller with the request's id.
   */
  async callService (event: EventMessage, channel: ParsedChannel, session: ServerSession, request: Message): Promise<Reply[]> {
    this.#reporter.notify('publish', event, session)
    const replies: Reply[] = [{ id: request.id, channel: request.channel, successful: true }]
    for (const listener of this.listeners.for(channel)) {
      const answer = await listener(event, session)
      // The ack (no data) clears the client's per-id timer; the answer resolves its remoteCall.
      if (answer === undefined) continue
      // An answer that cannot become JSON fails this call here, not the whole response later.
      JSON.stringify(answer)
      replies.push({ id: request.id, channel: channel.name, successful: true, data: answer })
    }
    return replies
  }
}
