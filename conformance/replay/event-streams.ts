// What each client was delivered (events, remote-call responses, server-side disconnects), compared
// per channel in FIFO order (C70) but in any order across channels and exchanges, because clients
// dispatch message by message (§1.7) and servers may piggy-back or hold events (§5.5).
import { isDeepStrictEqual } from 'node:util'
import type { Message, TraceStep } from '../trace.ts'
import { isReply } from '../wire.ts'
import { REPLAY_ITEM, compareDelivered, type Problem } from './compare.ts'

interface Delivered { step: number, message: Message }

/** Checklist items a missing or surplus delivery may be about, most specific first. */
const DELIVERY_ITEMS = ['C97', 'C74', 'C66', 'C62', 'C65', 'C60', 'C61', 'C51', 'C78', 'C33', 'C92', 'C86', 'C59', 'C70']

export class EventStreams {
  #expected = new Map<string, Delivered[]>()
  #actual = new Map<string, Delivered[]>()
  #item: string

  constructor (checklist: string[]) {
    this.#item = DELIVERY_ITEMS.find(item => checklist.includes(item)) ?? 'C55'
  }

  /** Takes note of what the recorded client was delivered in this step. */
  expect (step: TraceStep): void {
    if (step.kind === 'http' && step.dropped !== true) this.#add(this.#expected, step.client, step.step, (step.response.messages ?? []).filter(m => !isReply(m)))
    if (step.kind === 'ws-receive') this.#add(this.#expected, step.client, step.step, step.messages.filter(m => !isReply(m)))
  }

  arrived (client: string, step: number, messages: Message[]): void {
    this.#add(this.#actual, client, step, messages)
  }

  /** What `client` was delivered so far over HTTP, in arrival order. */
  arrivedAt (client: string): Message[] {
    return (this.#actual.get(client) ?? []).map(entry => entry.message)
  }

  /**
   * The replay id of the event that arrived in this replay where the recording had the event with
   * replay id `recorded` (same client, same channel, same position); undefined until it arrived.
   * `arrived` tells what a client has been delivered so far.
   */
  actualReplayId (recorded: number, arrived: (client: string) => Message[]): number | undefined {
    for (const [client, expected] of this.#expected) {
      const index = expected.findIndex(entry => replayIdOf(entry.message) === recorded)
      if (index < 0) continue
      const channel = expected[index]!.message.channel
      const position = expected.slice(0, index).filter(entry => entry.message.channel === channel).length
      const event = arrived(client).filter(message => message.channel === channel)[position]
      return event === undefined ? undefined : replayIdOf(event)
    }
    return undefined
  }

  compare (): Array<Problem & { step: number }> {
    const problems: Array<Problem & { step: number }> = []
    const clients = new Set([...this.#expected.keys(), ...this.#actual.keys()])
    for (const client of clients) {
      const expected = byChannel(this.#expected.get(client) ?? [])
      const actual = byChannel(this.#actual.get(client) ?? [])
      for (const channel of new Set([...expected.keys(), ...actual.keys()])) {
        problems.push(...this.#compareChannel(client, channel, expected.get(channel) ?? [], actual.get(channel) ?? []))
      }
    }
    return problems
  }

  #compareChannel (client: string, channel: string, expected: Delivered[], actual: Delivered[]): Array<Problem & { step: number }> {
    const problems: Array<Problem & { step: number }> = []
    const reordered = expected.length === actual.length && expected.length > 1 &&
      isDeepStrictEqual(sorted(expected), sorted(actual)) && !isDeepStrictEqual(datas(expected), datas(actual))
    if (reordered) {
      return [{ step: (expected[0] as Delivered).step, rule: `client ${client}: events on ${channel} delivered out of order`, checklist: 'C70', expected: datas(expected), actual: datas(actual) }]
    }
    expected.forEach((wanted, index) => {
      const got = actual[index]
      if (got === undefined) {
        problems.push({ step: wanted.step, rule: `client ${client}: ${ordinal(index)} on ${channel} never delivered`, checklist: this.#item, expected: wanted.message })
        return
      }
      for (const problem of compareDelivered(wanted.message, got.message)) {
        problems.push({ step: wanted.step, ...problem, rule: `client ${client}: ${ordinal(index)} on ${channel}: ${problem.rule}`, expected: problem.expected ?? wanted.message, actual: problem.actual ?? got.message })
      }
    })
    const ids = actual.map(entry => replayIdOf(entry.message))
    const descending = ids.findIndex((id, i) => i > 0 && id !== undefined && ids[i - 1] !== undefined && id <= ids[i - 1]!)
    if (expected.some(entry => replayIdOf(entry.message) !== undefined) && descending > 0) {
      problems.push({ step: actual[descending]!.step, rule: `client ${client}: replay ids on ${channel} do not increase`, checklist: REPLAY_ITEM, actual: ids })
    }
    for (const extra of actual.slice(expected.length)) {
      problems.push({ step: extra.step, rule: `client ${client}: unexpected message on ${channel}`, checklist: this.#item, actual: extra.message })
    }
    return problems
  }

  #add (into: Map<string, Delivered[]>, client: string, step: number, messages: Message[]): void {
    const list = into.get(client) ?? []
    for (const message of messages) list.push({ step, message })
    into.set(client, list)
  }
}

/** An event's replay id: `ext.replay.id`, or `data.event.replayId` in Salesforce's envelope (docs/replay.md). */
export function replayIdOf (message: Message): number | undefined {
  const id = (message.ext?.replay as { id?: unknown } | undefined)?.id ?? (message.data as { event?: { replayId?: unknown } } | undefined)?.event?.replayId
  return typeof id === 'number' ? id : undefined
}

function byChannel (delivered: Delivered[]): Map<string, Delivered[]> {
  const channels = new Map<string, Delivered[]>()
  for (const entry of delivered) {
    const channel = String(entry.message.channel)
    channels.set(channel, [...(channels.get(channel) ?? []), entry])
  }
  return channels
}

function datas (delivered: Delivered[]): unknown[] {
  return delivered.map(entry => entry.message.data)
}

function sorted (delivered: Delivered[]): string[] {
  return datas(delivered).map(data => JSON.stringify(data)).sort()
}

function ordinal (index: number): string {
  return `message #${index + 1}`
}
