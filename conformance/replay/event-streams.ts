// What each client was delivered (events, remote-call responses, server-side disconnects), compared
// per channel in FIFO order (C70) but in any order across channels and exchanges, because clients
// dispatch message by message (§1.7) and servers may piggy-back or hold events (§5.5).
import { isDeepStrictEqual } from 'node:util'
import type { Message, TraceStep } from '../trace.ts'
import { isReply } from '../wire.ts'
import { compareDelivered, type Problem } from './compare.ts'

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
