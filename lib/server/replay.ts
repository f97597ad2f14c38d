import type { Message } from '../protocol/message.ts'
import { fieldInvalid, replayIdInvalid } from '../protocol/wire-errors.ts'

/** A replay id as clients send it: a JSON number or a string of digits (Salesforce clients send both). */
const NUMERIC = /^-?[0-9]{1,16}$/

/** Bad input in `ext.replay`: the wire error that refuses the subscribe, and what to log at warn. */
export class ReplayRefusal {
  readonly error: string
  readonly warning: string

  constructor (error: string, warning: string) {
    this.error = error
    this.warning = warning
  }
}

/**
 * Where a subscribe asks to start on one channel (docs/replay.md): `new` (-1, or no
 * entry), `all` (-2), or after a replay id; or the refusal of the subscribe.
 */
export type ReplayStart = { readonly from: 'new' } | { readonly from: 'all' } | { readonly from: 'after', readonly id: number } | ReplayRefusal

const NEW: ReplayStart = { from: 'new' }
const ALL: ReplayStart = { from: 'all' }

/**
 * The map `ext.replay` of a subscribe (channel → replay id), undefined when there is
 * none, or the start that refuses the whole subscribe: a map that is not an object,
 * or one with more entries than a session may have subscriptions, cannot be a client's.
 */
export function replayMap (message: Message, maxEntries: number): Readonly<Record<string, unknown>> | ReplayRefusal | undefined {
  const map = message.ext?.['replay']
  if (map === undefined) return undefined
  if (typeof map !== 'object' || map === null || Array.isArray(map)) return new ReplayRefusal(fieldInvalid('ext.replay'), 'ext.replay is not an object')
  let entries = 0
  for (const key in map) {
    if (Object.hasOwn(map, key) && ++entries > maxEntries) return new ReplayRefusal(fieldInvalid('ext.replay'), `ext.replay has more than ${maxEntries} entries`)
  }
  return map as Readonly<Record<string, unknown>>
}

/** Where the subscription to `channel` starts, by its entry in `map`; entries of other channels are ignored. */
export function replayStart (map: Readonly<Record<string, unknown>> | undefined, channel: string): ReplayStart {
  if (map === undefined || !Object.hasOwn(map, channel)) return NEW
  const value = map[channel]
  const id = typeof value === 'number' ? value : typeof value === 'string' && NUMERIC.test(value) ? Number(value) : undefined
  if (id === undefined || !Number.isSafeInteger(id)) return new ReplayRefusal(fieldInvalid('ext.replay'), `the replay id of ${channel} is not an integer`)
  if (id === -1) return NEW
  if (id === -2) return ALL
  // No id below 1 is ever issued: Salesforce's answer to an id it does not know.
  if (id < 1) return new ReplayRefusal(replayIdInvalid(id), `replay id ${id} of ${channel} is never issued`)
  return { from: 'after', id }
}
