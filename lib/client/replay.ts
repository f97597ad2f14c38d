/**
 * The replay extension for the `cometd` JavaScript client, in the browser and in Node
 * (`import { ReplayExtension } from 'bayeux-server/client/replay'`). It remembers the last
 * replay id it saw on each channel and sends them in `ext.replay` on every subscribe, so an
 * application that subscribes again after a re-handshake (its session expired while it was
 * away) resumes where it left off: nothing missed, nothing twice (docs/replay.md).
 *
 * It imports nothing, from this package or elsewhere, so a browser bundle gets this file
 * alone; it fits `cometd`'s `Extension` interface without depending on it.
 */

/** `ext.replay` entry: every retained event, then new ones. */
export const REPLAY_ALL = -2
/** `ext.replay` entry: new events only (what the server does for a channel without an entry). */
export const REPLAY_NEW = -1

/** What the extension reads and writes of a Bayeux message. */
export interface ReplayMessage {
  channel: string
  successful?: boolean
  subscription?: string | string[]
  data?: any
  ext?: any
}

export interface ReplayExtensionOptions {
  /**
   * Where each channel (or wildcard pattern) starts before any of its events was seen:
   * `-2` (`REPLAY_ALL`), `-1` (`REPLAY_NEW`), or an id saved from `replayIds()` earlier.
   */
  from?: Record<string, number>
}

/**
 * Register it once, before the handshake: `cometd.registerExtension('replay', new ReplayExtension())`.
 * Replay is asked for only once a handshake reply carries `ext.replay: true`.
 */
export class ReplayExtension {
  /** The server offers replay: set by each successful handshake reply. */
  #enabled = false
  /** Channel or pattern → where its next subscription resumes. */
  readonly #ids = new Map<string, number>()

  constructor ({ from = {} }: ReplayExtensionOptions = {}) {
    for (const [channel, id] of Object.entries(from)) this.setReplayId(channel, id)
  }

  /** True when the last successful handshake reply said the server keeps history. */
  get enabled (): boolean {
    return this.#enabled
  }

  /** Where each channel resumes: the last id seen, or the starting point given. Save it to resume in a later page or process. */
  replayIds (): Record<string, number> {
    return Object.fromEntries(this.#ids)
  }

  /** Makes the next subscription to `channel` start from `id` (e.g. `REPLAY_ALL` after an invalid-id error). */
  setReplayId (channel: string, id: number): void {
    if (!Number.isSafeInteger(id) || id < REPLAY_ALL) throw new TypeError(`a replay id is -2, -1 or a positive integer, not ${id}`)
    this.#ids.set(channel, id)
  }

  incoming (message: ReplayMessage): ReplayMessage {
    if (message.channel === '/meta/handshake') {
      if (message.successful === true) this.#enabled = message.ext?.replay === true
    } else if (!message.channel.startsWith('/meta/')) {
      this.#remember(message)
    }
    return message
  }

  outgoing (message: ReplayMessage): ReplayMessage {
    if (message.channel !== '/meta/subscribe' || !this.#enabled) return message
    const replay: Record<string, number> = {}
    for (const subscription of [message.subscription ?? []].flat()) {
      for (const [channel, id] of this.#ids) {
        if (matches(subscription, channel)) replay[channel] = id
      }
    }
    if (Object.keys(replay).length > 0) message.ext = { ...message.ext, replay }
    return message
  }

  /** Keeps the id of an event: `data.event.replayId` (Salesforce's envelope) or `ext.replay.id`. */
  #remember (message: ReplayMessage): void {
    const id = message.data?.event?.replayId ?? message.ext?.replay?.id
    if (!Number.isSafeInteger(id) || id <= 0) return
    const known = this.#ids.get(message.channel)
    if (known === undefined || known < id) this.#ids.set(message.channel, id)
  }
}

/**
 * True when a subscription to `subscription` covers `channel`: the same name, or a concrete
 * channel under a wildcard (`/a/*`: one more segment, `/a/**`: one or more).
 */
function matches (subscription: string, channel: string): boolean {
  if (subscription === channel) return true
  const wild = subscription.endsWith('/**') ? 2 : subscription.endsWith('/*') ? 1 : 0
  if (wild === 0) return false
  const prefix = subscription.slice(0, subscription.lastIndexOf('/') + 1)
  if (!channel.startsWith(prefix) || channel.endsWith('*')) return false
  return wild === 2 || !channel.includes('/', prefix.length)
}
