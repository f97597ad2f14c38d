/**
 * The replay extension for the `cometd` JavaScript client, in the browser and in Node
 * (`import { ReplayExtension } from 'bayeux-server/client/replay'`). It remembers the last
 * replay id it saw on each channel and sends it in `ext.replay` with the subscribe, so an
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
  /** Channel → the last id seen on it, or where it starts; pattern → where it starts. */
  readonly #ids = new Map<string, number>()
  /** Wildcard patterns subscribed to successfully: subscribing to one again resumes it. */
  readonly #patterns = new Set<string>()

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

  /** Keeps the id of each event; drops an event whose id it has already seen on that channel. */
  incoming<M extends ReplayMessage> (message: M): M | null {
    if (message.channel === '/meta/handshake') {
      if (message.successful === true) this.#enabled = message.ext?.replay === true
      return message
    }
    if (message.channel === '/meta/subscribe') {
      if (message.successful === true) for (const subscription of [message.subscription ?? []].flat()) if (isWild(subscription)) this.#patterns.add(subscription)
      return message
    }
    if (message.channel.startsWith('/meta/')) return message
    const id = message.data?.event?.replayId ?? message.ext?.replay?.id
    if (!Number.isSafeInteger(id) || id <= 0) return message
    const known = this.#ids.get(message.channel)
    if (known !== undefined && id <= known) return null
    this.#ids.set(message.channel, id)
    return message
  }

  outgoing<M extends ReplayMessage> (message: M): M {
    if (message.channel !== '/meta/subscribe' || !this.#enabled) return message
    const replay: Record<string, number> = {}
    for (const subscription of [message.subscription ?? []].flat()) {
      const id = this.#resumeFrom(subscription)
      if (id !== undefined) replay[subscription] = id
    }
    if (Object.keys(replay).length > 0) message.ext = { ...message.ext, replay }
    return message
  }

  /**
   * A channel resumes after the last id seen on it. Ids are per channel and a server replays a
   * wildcard pattern only whole (`-2`): a pattern subscribed to before resumes with every
   * retained event, and `incoming` drops those already seen.
   */
  #resumeFrom (subscription: string): number | undefined {
    if (isWild(subscription) && this.#patterns.has(subscription)) return REPLAY_ALL
    return this.#ids.get(subscription)
  }
}

function isWild (channel: string): boolean {
  return channel.endsWith('/*') || channel.endsWith('/**')
}
