/**
 * Well-behaved real CometD clients running alongside the fuzz: one publishes a
 * numbered sequence, others (long-polling and WebSocket) subscribe. Each subscriber
 * must receive every number, once, in order (C70), however hostile the other traffic.
 * cometd-nodejs-client shares its cookies, so the long-polling publisher and
 * subscriber are two tabs of one browser: one of them polls instead of holding its
 * connect (C38), which delays messages but must not lose them.
 */
import { delay } from '../../helpers.ts'
import { Inbox, disconnect, handshake, newClient, publish, subscribe } from '../clients/cometd.ts'
import type { Transport } from '../clients/cometd.ts'
import type { CometD } from 'cometd'

/** No generated channel can be this one. */
const CHANNEL = '/canary/well-behaved'
/** Bounds how long a lost message is waited for: a loss, not a slow run, ends the wait. */
const DELIVERY_BOUND_MS = 15_000

interface Subscriber {
  readonly transport: Transport
  readonly client: CometD
  readonly inbox: Inbox
  handshakes: number
}

export interface CanaryReport {
  published: number
  /** Problems found: failed publishes, losses, reordering. */
  problems: string[]
}

/** `0-41, 57-99`: what a subscriber received, compactly. */
function ranges (data: unknown[]): string {
  const seqs = data.map(d => (d as { seq?: unknown } | null)?.seq)
  const out: string[] = []
  for (let i = 0; i < seqs.length; i++) {
    let j = i
    while (j + 1 < seqs.length && typeof seqs[j] === 'number' && seqs[j + 1] === (seqs[j] as number) + 1) j++
    out.push(j > i ? `${String(seqs[i])}-${String(seqs[j])}` : JSON.stringify(seqs[i]))
    i = j
  }
  return out.slice(0, 20).join(', ') + (out.length > 20 ? ', …' : '')
}

export class Canary {
  readonly #publisher: CometD
  readonly #subscribers: Subscriber[]
  readonly #problems: string[] = []
  #published = 0
  #running = true
  #loop: Promise<void> = Promise.resolve()

  private constructor (publisher: CometD, subscribers: Subscriber[]) {
    this.#publisher = publisher
    this.#subscribers = subscribers
  }

  static async start (url: string): Promise<Canary> {
    const publisher = newClient(url, 'long-polling')
    const subscribers = (['long-polling', 'websocket'] as Transport[]).map((transport): Subscriber => ({ transport, client: newClient(url, transport), inbox: new Inbox(), handshakes: 0 }))
    // A re-handshake means the session was lost (expired, or ended by the server): it explains losses.
    for (const subscriber of subscribers) subscriber.client.addListener('/meta/handshake', () => { subscriber.handshakes++ })
    await handshake(publisher)
    for (const { client, inbox } of subscribers) {
      await handshake(client)
      await subscribe(client, CHANNEL, inbox.listener)
    }
    const canary = new Canary(publisher, subscribers)
    canary.#loop = canary.#publishUntilStopped()
    return canary
  }

  async #publishUntilStopped (): Promise<void> {
    while (this.#running) {
      const ack = await publish(this.#publisher, CHANNEL, { seq: this.#published })
      if (ack.successful !== true) this.#problems.push(`publish ${this.#published} failed: ${JSON.stringify(ack)}`)
      this.#published++
      await delay(5)
    }
  }

  /** Stops every client at once, after a failure elsewhere: nothing is checked. */
  halt (): void {
    this.#running = false
    for (const client of [this.#publisher, ...this.#subscribers.map(s => s.client)]) client.disconnect()
  }

  /** Stops publishing, waits for every subscriber to catch up, disconnects, and reports. */
  async stop (): Promise<CanaryReport> {
    this.#running = false
    await this.#loop
    const expected = Array.from({ length: this.#published }, (_, seq) => ({ seq }))
    for (const { transport, client, inbox, handshakes } of this.#subscribers) {
      let timer: NodeJS.Timeout | undefined
      const bound = new Promise<'lost'>(resolve => { timer = setTimeout(resolve, DELIVERY_BOUND_MS, 'lost') })
      const outcome = await Promise.race([inbox.waitFor(this.#published), bound])
      clearTimeout(timer)
      if (outcome === 'lost') {
        this.#problems.push(`${transport} subscriber got ${inbox.messages.length} of ${this.#published} messages`)
      }
      if (JSON.stringify(inbox.data) !== JSON.stringify(expected)) {
        this.#problems.push(`${transport} subscriber (${handshakes} handshakes) did not get 0..${this.#published - 1} in order, but ${ranges(inbox.data)}`)
      }
      await disconnect(client)
    }
    await disconnect(this.#publisher)
    return { published: this.#published, problems: this.#problems }
  }
}
