// What a scenario is: a script that drives real CometD clients through one behaviour.
import type { Message, Transport } from '../trace.ts'
import type { Client, ClientFeatures, Msg } from './harness.ts'

export interface ScenarioContext {
  readonly transport: Transport
  /** A fresh CometD instance in the "browser" `label` (one cookie jar and loopback host per label). */
  client (label: string, features?: ClientFeatures): Promise<Client>
  /** Holds everything the client sends until the returned function is called (network partition). */
  partition (label: string): () => void
  /** Loses the next response to `label` whose messages match, before the client sees it. */
  dropResponse (label: string, filter: (request: Message[], response: Message[]) => boolean): Promise<void>
  /** Channel name private to this scenario, so traces can be replayed side by side. */
  channel (name: string): string
  sleep (ms: number): Promise<void>
}

/**
 * Replaces a recorded answer where the recording server deviates from docs/protocol.md's recommended
 * decisions (§10): the trace keeps the expectation and the deviation is documented in its metadata.
 */
export interface Correction {
  checklist: string
  note: string
  /**
   * What the server should have sent instead of `received`; `earlier` is what the same client got
   * before, `sent` what the client had sent on that exchange (HTTP) or socket (WebSocket).
   */
  correct (received: Message[], earlier: Message[], sent: Message[]): Message[]
}

/** A correction that rewrites single messages. */
export function replacing (checklist: string, note: string, applies: (m: Message) => boolean, expected: (m: Message) => Message): Correction {
  return { checklist, note, correct: received => received.map(m => applies(m) ? expected(m) : m) }
}

/**
 * C41 / §1.4: every subscribe and unsubscribe reply echoes the subscription, failures included
 * (the JS client finds the listener to clean up through it). cometd-nodejs-server omits it from
 * 402::session_unknown replies (so did this project before 0809bd5).
 */
export const ECHO_SUBSCRIPTION: Correction = {
  checklist: 'C41',
  note: 'The recording server omitted `subscription` from a failed (402::session_unknown) subscribe reply; docs/protocol.md (C41, §1.4) requires every subscribe/unsubscribe reply to echo it, which is what this trace expects.',
  correct: (received, _earlier, sent) => received.map(message => {
    if ((message.channel !== '/meta/subscribe' && message.channel !== '/meta/unsubscribe') || 'subscription' in message) return message
    const request = sent.find(m => m.id === message.id && m.channel === message.channel)
    return request === undefined ? message : { ...message, subscription: request.subscription }
  })
}

export interface Scenario {
  name: string
  description: string
  checklist: string[]
  /** Transports the scenario makes sense for; all three when absent. */
  transports?: Transport[]
  corrections?: Correction[]
  run (context: ScenarioContext): Promise<void>
}

/** Fails a recording when the client did not observe what the scenario is about. */
export function expect (condition: boolean, what: string, seen?: unknown): void {
  if (!condition) throw new Error(`scenario expectation failed: ${what}${seen === undefined ? '' : ` (saw ${JSON.stringify(seen)})`}`)
}

export function succeeded (reply: Msg, what: string): void {
  expect(reply.successful === true, `${what} succeeded`, reply)
}
