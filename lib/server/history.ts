import type { HistoryLimits } from '../engines/engine.ts'
import { BayeuxServerError } from '../errors.ts'
import type { ResolvedOptions } from '../options.ts'
import type { ChannelParser, ParsedChannel } from '../protocol/channel.ts'
import type { ReplayForm } from '../protocol/historic-event.ts'
import { PatternRegistry } from './pattern-registry.ts'

import type { EventMessage } from '../protocol/message.ts'

/** An event the history holds, as subscribers get it, with its replay id (`bayeux.history`). */
export interface HistoryEntry {
  readonly id: number
  readonly message: EventMessage
}

export type HistoryOptions = Pick<ResolvedOptions, 'history' | 'historySize' | 'historyTtl' | 'replayEnvelope'>

/**
 * Which channels keep history, and where their events carry their replay id
 * (docs/replay.md): options `history` and `replayEnvelope`. Made only when some
 * channel keeps history, so that a server without any pays nothing per publish.
 */
export class HistoryPolicy {
  readonly limits: HistoryLimits
  readonly #forms = new PatternRegistry<ReplayForm>()

  /** Undefined when no channel keeps history; throws BAYEUX_ERR_INVALID_OPTIONS for a pattern that is not a broadcast channel. */
  static of (options: HistoryOptions, channels: ChannelParser): HistoryPolicy | undefined {
    if (options.history.length === 0 && options.replayEnvelope.length === 0) return undefined
    return new HistoryPolicy(options, channels)
  }

  private constructor (options: HistoryOptions, channels: ChannelParser) {
    this.limits = { size: options.historySize, ttl: options.historyTtl }
    const add = (pattern: string, form: ReplayForm, option: string): void => {
      const parsed = channels.parse(pattern)
      if (parsed === null || parsed.kind !== 'broadcast') {
        throw new BayeuxServerError('BAYEUX_ERR_INVALID_OPTIONS', `Invalid options: ${option} ${JSON.stringify(pattern)} is not a broadcast channel or pattern`)
      }
      this.#forms.add(parsed.name, form)
    }
    for (const pattern of options.history) add(pattern, 'ext', 'history')
    for (const pattern of options.replayEnvelope) add(pattern, 'envelope', 'replayEnvelope')
  }

  /** Where events of the concrete `channel` carry their id; undefined when it keeps no history. */
  formOf (channel: ParsedChannel): ReplayForm | undefined {
    const forms = this.#forms.for(channel)
    if (forms.length === 0) return undefined
    return forms.includes('envelope') ? 'envelope' : 'ext'
  }
}
