import type { BayeuxServer } from '../server/bayeux-server.ts'
import type { EventMessage } from '../protocol/message.ts'
import type { ServerSession } from '../server/session.ts'

/** The figures the demo page shows, as published on the stats channel. */
export interface DemoFigures {
  /** Live sessions. */
  readonly sessions: number
  /** Channels (and wildcard patterns) at least one session is subscribed to. */
  readonly channels: number
  /** Messages published by clients or the application since the last figures, per second. */
  readonly messagesPerSecond: number
}

/**
 * Counts what the demo page shows, from the server's own events: nothing is counted,
 * and no listener is attached, until it is made, so that a server without the demo
 * pays nothing for it.
 */
export class DemoStats {
  readonly #bayeux: BayeuxServer
  /** The channel the figures go out on: its own publishes are not counted. */
  readonly #channel: string
  readonly #subscribers = new Map<string, number>()
  #published = 0
  #since: number

  readonly #onSubscribe = (_session: ServerSession, channel: string): void => {
    this.#subscribers.set(channel, (this.#subscribers.get(channel) ?? 0) + 1)
  }

  readonly #onUnsubscribe = (_session: ServerSession, channel: string): void => {
    this.#forget(channel)
  }

  // Subscriptions are not unsubscribed one by one when a session ends; they go with it.
  readonly #onDisconnect = (session: ServerSession): void => {
    for (const channel of session.subscriptions) this.#forget(channel)
  }

  readonly #onPublish = (message: EventMessage): void => {
    if (message.channel !== this.#channel) this.#published++
  }

  /** Starts counting now; `now` is a clock in milliseconds. */
  constructor (bayeux: BayeuxServer, channel: string, now: number) {
    this.#bayeux = bayeux
    this.#channel = channel
    this.#since = now
    bayeux.on('subscribe', this.#onSubscribe)
    bayeux.on('unsubscribe', this.#onUnsubscribe)
    bayeux.on('disconnect', this.#onDisconnect)
    bayeux.on('publish', this.#onPublish)
  }

  /** The figures now, and a new window for the message rate. */
  take (now: number): DemoFigures {
    const seconds = (now - this.#since) / 1000
    const rate = seconds > 0 ? this.#published / seconds : 0
    this.#published = 0
    this.#since = now
    return {
      sessions: this.#bayeux.sessionCount,
      channels: this.#subscribers.size,
      messagesPerSecond: Math.round(rate * 10) / 10
    }
  }

  /** Stops counting: the server's events no longer reach this object. */
  stop (): void {
    this.#bayeux.off('subscribe', this.#onSubscribe)
    this.#bayeux.off('unsubscribe', this.#onUnsubscribe)
    this.#bayeux.off('disconnect', this.#onDisconnect)
    this.#bayeux.off('publish', this.#onPublish)
  }

  #forget (channel: string): void {
    const count = this.#subscribers.get(channel)
    if (count === undefined) return
    if (count > 1) this.#subscribers.set(channel, count - 1)
    else this.#subscribers.delete(channel)
  }
}
