/**
 * Links without sockets (lib/server/link.ts), to drive the protocol core in unit tests:
 * a request link with a settable browser cookie, a push link that records what it is
 * given and whose backlog and closing the test controls, and a recorder for `respond`.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { EventMessage, Reply } from '../../lib/protocol/message.ts'
import type { OutgoingEvent } from '../../lib/protocol/outgoing-event.ts'
import type { LinkWatcher, PushLink, RequestLink, Respond } from '../../lib/server/link.ts'

interface LinkInit {
  browserId?: string | undefined
  transport?: string
  headers?: IncomingHttpHeaders
  remoteAddress?: string
}

abstract class FakeLink {
  readonly transport: string
  readonly headers: IncomingHttpHeaders
  readonly remoteAddress: string | undefined
  browserId: string | undefined
  #closed = false
  #watchers: LinkWatcher[] = []

  constructor (transport: string, { browserId, headers = {}, remoteAddress = '192.0.2.1' }: LinkInit) {
    this.transport = transport
    this.browserId = browserId
    this.headers = headers
    this.remoteAddress = remoteAddress
  }

  get closed (): boolean {
    return this.#closed
  }

  /** Watchers still registered: a hold that was cleared must have stopped watching. */
  get closeListeners (): number {
    return this.#watchers.length
  }

  // Like the real links (lib/transports/transport-link.ts): a watcher added after the close is told at once.
  onClose (watcher: LinkWatcher): void {
    if (this.#closed) watcher.linkClosed()
    else this.#watchers.push(watcher)
  }

  offClose (watcher: LinkWatcher): void {
    const index = this.#watchers.indexOf(watcher)
    if (index >= 0) this.#watchers.splice(index, 1)
  }

  /** The peer goes away: every watcher is told, once. */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    const watchers = this.#watchers
    this.#watchers = []
    for (const watcher of watchers) watcher.linkClosed()
  }
}

/** One HTTP request; `assigned` lists the cookies the core gave it. */
export class FakeRequestLink extends FakeLink implements RequestLink {
  readonly kind = 'request'
  readonly assigned: string[] = []
  static #nextBrowser = 1

  constructor (init: LinkInit = {}) {
    super(init.transport ?? 'long-polling', init)
  }

  assignBrowserId (): string {
    const id = `browser${FakeRequestLink.#nextBrowser++}`
    this.browserId = id
    this.assigned.push(id)
    return id
  }
}

/** A WebSocket; `pushes` records each push, `drain()` ends a backlog set with `backlogged`. */
export class FakePushLink extends FakeLink implements PushLink {
  readonly kind = 'push'
  backlogged = false
  readonly pushes: EventMessage[][] = []
  /** How many pushes there had been when the core let the link go (a drain), if it did. */
  endedAfter: number | undefined
  #drainListeners: Array<() => void> = []

  constructor (init: LinkInit = {}) {
    super(init.transport ?? 'websocket', init)
  }

  /** Drain listeners waiting: a session registers one per backlog, not one per event. */
  get drainListeners (): number {
    return this.#drainListeners.length
  }

  /** Every event pushed so far, in order. */
  get pushed (): EventMessage[] {
    return this.pushes.flat()
  }

  push (events: readonly OutgoingEvent[]): void {
    this.pushes.push(events.map(event => event.message as EventMessage))
  }

  onDrain (listener: () => void): void {
    this.#drainListeners.push(listener)
  }

  /** Like a WebSocket with no payload in progress: closes at once. */
  end (): void {
    this.endedAfter ??= this.pushes.length
    this.close()
  }

  /** The backlog has been written out: drain listeners are called, once. */
  drain (): void {
    this.backlogged = false
    const listeners = this.#drainListeners
    this.#drainListeners = []
    for (const listener of listeners) listener()
  }
}

/** What one `respond` call wrote: events (as messages) first, then replies. */
export interface Answer {
  events: Array<EventMessage | Reply>
  replies: Reply[]
}

/** Records what the core answers to one payload; `answered` resolves on the first answer. */
export class Responder {
  readonly answers: Answer[] = []
  readonly answered: Promise<Answer>
  #resolve!: (answer: Answer) => void

  constructor () {
    this.answered = new Promise(resolve => { this.#resolve = resolve })
  }

  readonly respond: Respond = (events, replies) => {
    const answer = { events: events.map(event => event.message), replies: [...replies] }
    this.answers.push(answer)
    this.#resolve(answer)
  }
}
