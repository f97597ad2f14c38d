// A deliberately small Bayeux client for load generation: handshake, the /meta/connect loop,
// subscribe and publish. It does no extensions, no re-handshake and no backoff, so that
// thousands of them fit in one process and the generator spends its time on the wire.

export interface Message {
  channel: string
  id?: string
  clientId?: string
  successful?: boolean
  data?: unknown
  error?: string
  advice?: { reconnect?: string, timeout?: number }
  [field: string]: unknown
}

/** One transport flavour (websocket frames or long-polling POSTs) carrying batches of messages. */
export interface Link {
  readonly connectionType: 'websocket' | 'long-polling'
  send(messages: Message[]): void
  close(): void
}

/** Callbacks a link reports to; `fail` hands back the batch a transport error swallowed. */
export interface LinkListener {
  receive(messages: Message[]): void
  fail(messages: Message[], error: Error): void
}

export type LinkFactory = (listener: LinkListener) => Promise<Link>

/** Problems counted per process rather than thrown, so a misbehaving server cannot stop a run. */
export interface ClientProblems {
  failedReplies: number
  transportErrors: number
  lastError: string
  /**
   * Sessions the server no longer had when their connect came (it expired or ended them): this
   * client does not handshake again, so every later delivery to them counts as lost.
   */
  sessionsLost: number
}

const CONNECT_RETRY_MS = 1000
/** Handshake, first connect and subscribe must be answered within this, or opening the session fails. */
const REQUEST_TIMEOUT_MS = 15_000

export class BayeuxClient implements LinkListener {
  #link: Link | undefined
  #clientId = ''
  #nextId = 0
  #pending = new Map<string, (reply: Message) => void>()
  #closed = false
  #onEvent: (message: Message) => void
  #problems: ClientProblems
  #acknowledge = (reply: Message): void => {
    if (!reply.successful) this.#noteFailure(reply)
  }

  #continueConnecting = (reply: Message): void => {
    if (this.#closed) return
    if (reply.successful) return this.#sendConnect()
    this.#noteFailure(reply)
    if (reply.advice?.reconnect === 'handshake') this.#problems.sessionsLost++
    else setTimeout(() => this.#sendConnect(), CONNECT_RETRY_MS)
  }

  constructor (onEvent: (message: Message) => void, problems: ClientProblems) {
    this.#onEvent = onEvent
    this.#problems = problems
  }

  /** Opens the link, handshakes, and starts the /meta/connect loop. */
  async open (linkFactory: LinkFactory): Promise<void> {
    this.#link = await linkFactory(this)
    const reply = await this.#request({
      channel: '/meta/handshake',
      version: '1.0',
      supportedConnectionTypes: [this.#link.connectionType]
    })
    if (!reply.successful || typeof reply.clientId !== 'string') {
      throw new Error(`handshake failed: ${reply.error ?? 'no clientId'}`)
    }
    this.#clientId = reply.clientId
    // advice.timeout 0 asks for an immediate first reply, as the CometD JavaScript client does.
    const first = await this.#request(this.#connectMessage({ advice: { timeout: 0 } }))
    if (!first.successful) throw new Error(`first connect failed: ${first.error ?? ''}`)
    this.#sendConnect()
  }

  /** `ext` travels with the subscribe (e.g. `{ replay: { channel: -2 } }`). */
  async subscribe (channels: string[], ext?: Record<string, unknown>): Promise<void> {
    const reply = await this.#request({ channel: '/meta/subscribe', clientId: this.#clientId, subscription: channels, ...(ext !== undefined && { ext }) })
    if (!reply.successful) throw new Error(`subscribe failed: ${reply.error ?? ''}`)
  }

  /** Sends one batch of publishes; acknowledgements are only checked for failures. */
  publish (batch: Array<{ channel: string, data: unknown }>): void {
    const messages = batch.map(({ channel, data }) => {
      const message: Message = { channel, data, clientId: this.#clientId, id: this.#newId() }
      this.#pending.set(message.id!, this.#acknowledge)
      return message
    })
    this.#link!.send(messages)
  }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#clientId !== '') this.#link?.send([{ channel: '/meta/disconnect', clientId: this.#clientId, id: this.#newId() }])
    this.#link?.close()
  }

  receive (messages: Message[]): void {
    for (const message of messages) {
      if (message.data !== undefined && !message.channel.startsWith('/meta/')) {
        this.#onEvent(message)
        continue
      }
      const handler = message.id === undefined ? undefined : this.#pending.get(message.id)
      if (handler === undefined) continue
      this.#pending.delete(message.id!)
      handler(message)
    }
  }

  fail (messages: Message[], error: Error): void {
    this.#problems.transportErrors++
    this.#problems.lastError = error.message
    if (this.#closed) return
    this.receive(messages.map(({ channel, id }) => ({ channel, id, successful: false, error: error.message })))
  }

  #sendConnect (): void {
    const message = this.#connectMessage({})
    message.id = this.#newId()
    this.#pending.set(message.id, this.#continueConnecting)
    this.#link!.send([message])
  }

  #connectMessage (extra: Partial<Message>): Message {
    return {
      channel: '/meta/connect',
      clientId: this.#clientId,
      connectionType: this.#link!.connectionType,
      ...extra
    }
  }

  #request (message: Message): Promise<Message> {
    const id = (message.id = this.#newId())
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`no reply to ${message.channel} within ${REQUEST_TIMEOUT_MS} ms`))
      }, REQUEST_TIMEOUT_MS)
      this.#pending.set(id, (reply) => {
        clearTimeout(timer)
        resolve(reply)
      })
      this.#link!.send([message])
    })
  }

  #noteFailure (reply: Message): void {
    this.#problems.failedReplies++
    this.#problems.lastError = `${reply.channel}: ${reply.error ?? 'unsuccessful'}`
  }

  #newId (): string {
    return (++this.#nextId).toString(36)
  }
}
