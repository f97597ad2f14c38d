// Compares a server's answer with the recorded one by rules, not bytes (issue 3, docs/protocol.md §1, §9):
// exact for channel, successful, subscription, data and the error code; present and well formed for
// clientId and advice values; every problem names the checklist item it relates to.
import { isDeepStrictEqual } from 'node:util'
import type { Message, Transport } from '../trace.ts'
import { isMeta, isReply } from '../wire.ts'

export interface Problem {
  rule: string
  checklist: string
  expected?: unknown
  actual?: unknown
}

/** Failures about the replay extension cite docs/replay.md, which has no checklist of its own. */
export const REPLAY_ITEM = 'replay'

const ALPHANUMERIC = /^[A-Za-z0-9]+$/
const ERROR_SHAPE = /^(\d{3}):[^:]*:/

function isWild (channel: string): boolean {
  return channel.endsWith('/*') || channel.endsWith('/**')
}

/** The checklist item about the outcome (success or the particular failure) of a reply. */
export function outcomeItem (expected: Message): string {
  const channel = String(expected.channel)
  const code = typeof expected.error === 'string' ? expected.error.slice(0, 3) : null
  const subscription = JSON.stringify(expected.subscription ?? '')
  switch (channel) {
    case '/meta/handshake': return code === null ? 'C15' : 'C23'
    case '/meta/connect': return code === '402' ? 'C26' : code === null ? 'C30' : 'C26'
    case '/meta/disconnect': return code === '402' ? 'C73' : 'C71'
    case '/meta/subscribe':
    case '/meta/unsubscribe':
      if (code === null) return channel === '/meta/unsubscribe' ? 'C51' : subscription.includes('"/service/') ? 'C44' : 'C43'
      if (code === '402') return 'C47'
      if (code === '400' && channel === '/meta/subscribe') return REPLAY_ITEM
      if (subscription.includes('/meta/')) return 'C45'
      if (/\*.*\//.test(subscription)) return 'C52'
      return code === '403' && !subscription.includes('forbidden') ? 'C46' : 'C49'
    default:
      if (code === null) return channel.startsWith('/service/') ? 'C65' : 'C53'
      if (code === '402') return 'C73'
      if (isMeta(channel)) return 'C64'
      if (isWild(channel)) return 'C63'
      return 'C69'
  }
}

/** C52 leaves the code of a mid-path wildcard refusal open: 403::subscription_invalid or 405. */
function acceptedCodes (code: string, item: string): string[] {
  return item === 'C52' ? ['403', '405'] : [code]
}

function isNonNegativeInteger (value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 0
}

/** Rules shared by replies and delivered messages. */
function compareCommon (expected: Message, actual: Message, problems: Problem[]): void {
  if (actual.channel !== expected.channel) problems.push({ rule: 'channel differs', checklist: 'C10', expected: expected.channel, actual: actual.channel })
  if ('data' in expected && !('data' in actual)) problems.push({ rule: 'data missing', checklist: 'C55' })
  else if ('data' in expected && !isDeepStrictEqual(actual.data, expected.data)) problems.push({ rule: 'data differs', checklist: 'C55', expected: expected.data, actual: actual.data })
  if ('subscription' in expected && !isDeepStrictEqual(actual.subscription, expected.subscription)) {
    problems.push({ rule: 'subscription not echoed exactly', checklist: 'C41', expected: expected.subscription, actual: actual.subscription })
  }
}

/** A reply answers one request: same id, a boolean `successful`, no `data` unless recorded (§1.4). */
export function compareReply (expected: Message, actual: Message, transport: Transport): Problem[] {
  const problems: Problem[] = []
  compareCommon(expected, actual, problems)
  if (actual.id !== expected.id) problems.push({ rule: 'id not echoed', checklist: 'C09', expected: expected.id, actual: actual.id })
  if (!('data' in expected) && 'data' in actual) problems.push({ rule: 'reply carries data', checklist: 'C54', actual: actual.data })
  compareOutcome(expected, actual, problems)
  compareAdvice(expected, actual, problems)
  if ('clientId' in expected && (typeof actual.clientId !== 'string' || !ALPHANUMERIC.test(actual.clientId))) {
    problems.push({ rule: 'clientId missing or not alphanumeric', checklist: 'C15', actual: actual.clientId })
  }
  if ('version' in expected && actual.version !== expected.version) problems.push({ rule: 'version differs', checklist: 'C15', expected: expected.version, actual: actual.version })
  if ('supportedConnectionTypes' in expected) {
    const types = actual.supportedConnectionTypes
    if (!Array.isArray(types) || !types.includes(transport)) {
      problems.push({ rule: `supportedConnectionTypes must be an array listing ${transport}`, checklist: 'C19', actual: types })
    }
  }
  const expectedAck = expected.ext?.ack
  const actualAck = actual.ext?.ack
  if (expectedAck === true && actualAck !== true) problems.push({ rule: 'ext.ack:true missing from the handshake reply', checklist: 'C95', actual: actual.ext })
  if (expected.ext?.replay === true && actual.ext?.replay !== true) problems.push({ rule: 'ext.replay:true missing from the handshake reply (no replay extension)', checklist: REPLAY_ITEM, actual: actual.ext })
  // A connect reply that ends the session (reconnect:none) has no batch left to number.
  const ending = actual.advice?.reconnect === 'none'
  if (typeof expectedAck === 'number' && !ending && !isNonNegativeInteger(actualAck)) problems.push({ rule: 'ext.ack batch number missing from the connect reply', checklist: 'C96', actual: actual.ext })
  return problems
}

function compareOutcome (expected: Message, actual: Message, problems: Problem[]): void {
  if (!('successful' in expected)) return
  const item = outcomeItem(expected)
  if (typeof actual.successful !== 'boolean') problems.push({ rule: 'successful is not a boolean', checklist: 'C11', actual: actual.successful })
  else if (actual.successful !== expected.successful) {
    problems.push({ rule: `expected successful:${String(expected.successful)}`, checklist: item, expected: expected.error ?? true, actual: actual.error ?? actual.successful })
  } else if (typeof expected.error === 'string') {
    const code = typeof actual.error === 'string' ? ERROR_SHAPE.exec(actual.error)?.[1] : undefined
    if (code === undefined) problems.push({ rule: 'error is not "code:args:message"', checklist: item, expected: expected.error, actual: actual.error })
    else if (!acceptedCodes(expected.error.slice(0, 3), item).includes(code)) problems.push({ rule: 'error code differs', checklist: item, expected: expected.error, actual: actual.error })
  }
}

function compareAdvice (expected: Message, actual: Message, problems: Problem[]): void {
  const lifecycle = actual.channel === '/meta/handshake' || actual.channel === '/meta/connect'
  const adviceItem = actual.channel === '/meta/handshake' ? 'C16' : 'C29'
  if (lifecycle && actual.successful === true && actual.advice?.reconnect === 'handshake') {
    problems.push({ rule: 'successful reply advises reconnect:"handshake"', checklist: actual.channel === '/meta/handshake' ? 'C18' : 'C37', actual: actual.advice })
  }
  const wanted = expected.advice
  if (wanted === undefined) return
  const advice = actual.advice
  const releasedByLeaving = wanted.reconnect === 'none' && expected.channel === '/meta/connect'
  if (advice === null || typeof advice !== 'object') {
    problems.push({ rule: 'advice missing', checklist: releasedByLeaving ? 'C36' : adviceItem, expected: wanted })
    return
  }
  if ('reconnect' in wanted && advice.reconnect !== wanted.reconnect) {
    const item = outcomeItem(expected) === 'C26' ? 'C26' : releasedByLeaving ? 'C36' : adviceItem
    problems.push({ rule: 'advice.reconnect differs', checklist: item, expected: wanted.reconnect, actual: advice.reconnect })
  }
  for (const field of ['interval', 'timeout', 'maxInterval'] as const) {
    if (field in wanted && !isNonNegativeInteger(advice[field])) problems.push({ rule: `advice.${field} must be a non-negative integer`, checklist: adviceItem, actual: advice[field] })
  }
}

/** A delivered message (event, remote-call response, server-side disconnect): §1.5, §6.1. */
export function compareDelivered (expected: Message, actual: Message): Problem[] {
  const problems: Problem[] = []
  compareCommon(expected, actual, problems)
  if (!('data' in expected) && 'data' in actual) problems.push({ rule: 'unexpected data', checklist: 'C55', actual: actual.data })
  if ('id' in expected && actual.id !== expected.id) problems.push({ rule: 'remote-call response must carry the request id', checklist: 'C66', expected: expected.id, actual: actual.id })
  if (!('id' in expected) && 'id' in actual) problems.push({ rule: 'delivered event carries an id', checklist: 'C57', actual: actual.id })
  if (!('clientId' in expected) && 'clientId' in actual) problems.push({ rule: 'delivered event carries a clientId', checklist: 'C56', actual: actual.clientId })
  if ('successful' in expected) compareOutcome(expected, actual, problems)
  // The server numbers events itself: a replay id differs from one run to the next (docs/replay.md).
  if (expected.ext?.replay !== undefined) {
    const id = (actual.ext?.replay as { id?: unknown } | undefined)?.id
    if (!Number.isSafeInteger(id) || (id as number) <= 0) problems.push({ rule: 'ext.replay.id must be a positive integer', checklist: REPLAY_ITEM, expected: expected.ext.replay, actual: actual.ext?.replay })
  }
  for (const [key, value] of Object.entries(expected.ext ?? {})) {
    if (key !== 'ack' && key !== 'replay' && !isDeepStrictEqual(actual.ext?.[key], value)) problems.push({ rule: `publisher's ext.${key} not preserved`, checklist: 'C58', expected: value, actual: actual.ext?.[key] })
  }
  if (expected.advice?.reconnect !== undefined && actual.advice?.reconnect !== expected.advice.reconnect) {
    problems.push({ rule: 'advice.reconnect differs', checklist: 'C74', expected: expected.advice.reconnect, actual: actual.advice?.reconnect })
  }
  return problems
}

export interface Pairing {
  pairs: Array<[expected: Message, actual: Message]>
  missing: Message[]
  unexpected: Message[]
  delivered: Message[]
}

/**
 * Pairs expected replies with what the server sent, by id and channel, in any order (§1.7). A
 * message with the right id and channel that carries data still answers the request: it is
 * paired (and then fails C54) rather than mistaken for an event, which is what a client would do.
 */
export function pairReplies (expected: Message[], actual: Message[]): Pairing {
  const pool = [...actual]
  const pairing: Pairing = { pairs: [], missing: [], unexpected: [], delivered: [] }
  for (const wanted of expected) {
    const same = (m: Message): boolean => m.id === wanted.id && m.channel === wanted.channel
    let index = pool.findIndex(m => isReply(m) && same(m))
    if (index < 0) index = pool.findIndex(same)
    if (index < 0) pairing.missing.push(wanted)
    else pairing.pairs.push([wanted, pool.splice(index, 1)[0] as Message])
  }
  pairing.unexpected = pool.filter(isReply)
  pairing.delivered = pool.filter(m => !isReply(m))
  return pairing
}
