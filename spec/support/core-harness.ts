/**
 * A ServerCore driven through fake links, for unit tests of lib/server/ without
 * sockets: payloads go straight to `core.process`, answers are recorded.
 */
import { EventEmitter } from 'node:events'
import type { Logger } from '../../lib/logger.ts'
import type { Message, Reply } from '../../lib/protocol/message.ts'
import { ServerCore } from '../../lib/server/core.ts'
import type { BayeuxOptions } from '../../lib/server/core.ts'
import type { BayeuxEvents } from '../../lib/server/events.ts'
import type { Link } from '../../lib/server/link.ts'
import type { Session } from '../../lib/server/session.ts'
import { Responder } from './fake-links.ts'
import type { Answer } from './fake-links.ts'

interface Teardown { teardown (fn: () => unknown): void }

export interface LogLine { level: 'info' | 'warn' | 'error' | 'debug', object: object, message: string | undefined }

/** A logger that keeps its lines, to assert on what the core logs. */
export class MemoryLog implements Logger {
  readonly lines: LogLine[] = []

  info (object: object, message?: string): void {
    this.lines.push({ level: 'info', object, message })
  }

  warn (object: object, message?: string): void {
    this.lines.push({ level: 'warn', object, message })
  }

  error (object: object, message?: string): void {
    this.lines.push({ level: 'error', object, message })
  }

  debug (object: object, message?: string): void {
    this.lines.push({ level: 'debug', object, message })
  }

  at (level: LogLine['level']): LogLine[] {
    return this.lines.filter(line => line.level === level)
  }
}

/** One payload handed to the core: `done` settles when processing does. */
export interface Exchange {
  readonly responder: Responder
  readonly done: Promise<void>
}

/** Resolves once the flushes scheduled in this tick (setImmediate) have run. */
export function flushed (): Promise<void> {
  return new Promise(resolve => setImmediate(resolve))
}

/** Awaits `promise` with the process kept alive: the core's timers are unref'd, and would let it exit first. */
export async function keepingAlive<T> (promise: Promise<T>): Promise<T> {
  const alive = setInterval(() => {}, 1000)
  try {
    return await promise
  } finally {
    clearInterval(alive)
  }
}

export class CoreHarness {
  readonly events = new EventEmitter<BayeuxEvents>()
  readonly log = new MemoryLog()
  readonly core: ServerCore
  #nextId = 1

  private constructor (options: BayeuxOptions) {
    this.core = new ServerCore(options, this.events)
    this.core.reporter.log = this.log
  }

  /** A started core, closed when `t` ends. */
  static async start (t: Teardown, options: BayeuxOptions = {}): Promise<CoreHarness> {
    const harness = new CoreHarness(options)
    await harness.core.start()
    t.teardown(() => harness.core.close())
    return harness
  }

  nextId (): string {
    return String(this.#nextId++)
  }

  send (link: Link, batch: unknown[]): Exchange {
    const responder = new Responder()
    // Processing over already (most connects) comes as no promise.
    return { responder, done: Promise.resolve(this.core.process(batch, link, responder.respond)) }
  }

  /**
   * Sends a payload that is answered, not held, and returns its one answer. A connect
   * answered at once may be written after its processing ends (an async outgoing
   * extension): hence waiting for the answer too.
   */
  async ask (link: Link, batch: unknown[]): Promise<Answer> {
    const { responder, done } = this.send(link, batch)
    await done
    const answer = await responder.answered
    await flushed()
    if (responder.answers.length !== 1) throw new Error(`${responder.answers.length} answers to one payload, expected 1`)
    return answer
  }

  /** The one reply to a payload of one message. */
  async reply (link: Link, message: Message): Promise<Reply> {
    const { replies } = await this.ask(link, [message])
    if (replies.length !== 1) throw new Error(`${replies.length} replies to one message, expected 1`)
    return replies[0]!
  }

  /** A new session's clientId; fails when the handshake is refused. */
  async handshake (link: Link, extra: Partial<Message> = {}): Promise<string> {
    const reply = await this.reply(link, { id: this.nextId(), channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling', 'websocket'], ...extra })
    if (!reply.successful || reply.clientId === undefined) throw new Error(`handshake refused: ${reply.error}`)
    return reply.clientId
  }

  /** A handshake and the first connect (answered at once, C28): later connects may be held. */
  async connected (link: Link, extra: Partial<Message> = {}): Promise<string> {
    const clientId = await this.handshake(link, extra)
    const reply = await this.reply(link, this.connect(clientId))
    if (!reply.successful) throw new Error(`first connect refused: ${reply.error}`)
    return clientId
  }

  connect (clientId: string, extra: Partial<Message> = {}): Message {
    return { id: this.nextId(), channel: '/meta/connect', clientId, connectionType: 'long-polling', ...extra }
  }

  subscribe (clientId: string, subscription: string | string[], extra: Partial<Message> = {}): Message {
    return { id: this.nextId(), channel: '/meta/subscribe', clientId, subscription, ...extra }
  }

  unsubscribe (clientId: string, subscription: string | string[], extra: Partial<Message> = {}): Message {
    return { id: this.nextId(), channel: '/meta/unsubscribe', clientId, subscription, ...extra }
  }

  publish (clientId: string, channel: string, data: unknown, extra: Partial<Message> = {}): Message {
    return { id: this.nextId(), channel, clientId, data, ...extra }
  }

  disconnect (clientId: string): Message {
    return { id: this.nextId(), channel: '/meta/disconnect', clientId }
  }

  session (clientId: string): Session {
    const session = this.core.registry.get(clientId)
    if (session === undefined) throw new Error(`no session ${clientId}`)
    return session
  }
}
