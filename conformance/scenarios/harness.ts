// Drives one real CometD client (npm `cometd`) and records what the application sees. The same
// module runs in Node (through cometd-nodejs-client) and, transpiled, inside headless Chromium, so
// it must not import anything: the CometD library is handed in.

export type Msg = Record<string, any>

export interface ClientFeatures {
  ack?: boolean
  reload?: boolean
  timesync?: boolean
  timestamp?: boolean
  binary?: boolean
  /** The replay extension this package ships (lib/client/replay.ts), with these starting points. */
  replay?: Record<string, number>
}

export interface CometDLibrary {
  CometD: new (name?: string) => any
  AckExtension: new () => any
  ReloadExtension: new () => any
  TimeSyncExtension: new () => any
  TimeStampExtension: new () => any
  BinaryExtension: new () => any
  ReplayExtension: new (options: { from?: Record<string, number> }) => any
}

/** What a scenario can ask of a client; every call is asynchronous so it can cross into a browser. */
export interface Client {
  handshake (props?: Msg): Promise<Msg>
  connected (count?: number): Promise<void>
  subscribe (channel: string, props?: Msg): Promise<Msg>
  unsubscribe (channel: string): Promise<Msg>
  publish (channel: string, data: unknown, props?: Msg): Promise<Msg>
  publishBinary (channel: string, bytes: number[]): Promise<Msg>
  remoteCall (target: string, data: unknown): Promise<Msg>
  batch (operations: BatchOperation[]): Promise<Msg[]>
  disconnect (): Promise<Msg>
  reload (): Promise<void>
  received (channel: string, count: number): Promise<Msg[]>
  metaReplies (channel: string, count: number): Promise<Msg[]>
  clientId (): Promise<string>
  /** What the replay extension would resume from, per channel. */
  replayIds (): Promise<Record<string, number>>
  /** Ends the client after the recording stopped, whatever state it is in. */
  stop (): Promise<void>
}

export type BatchOperation =
  | { op: 'subscribe', channel: string }
  | { op: 'unsubscribe', channel: string }
  | { op: 'publish', channel: string, data: unknown }

const WAIT_LIMIT_MS = 15000
const ALL_TRANSPORTS = ['websocket', 'long-polling', 'callback-polling']

export class ClientHarness implements Client {
  #cometd: any
  #received = new Map<string, Msg[]>()
  #meta = new Map<string, Msg[]>()
  #subscriptions = new Map<string, any>()
  #waiters: Array<() => void> = []

  constructor (library: CometDLibrary, url: string, transport: string, features: ClientFeatures) {
    const cometd = new library.CometD()
    for (const type of ALL_TRANSPORTS) if (type !== transport) cometd.unregisterTransport(type)
    if (features.ack === true) cometd.registerExtension('ack', new library.AckExtension())
    if (features.reload === true) cometd.registerExtension('reload', new library.ReloadExtension())
    if (features.timesync === true) cometd.registerExtension('timesync', new library.TimeSyncExtension())
    if (features.timestamp === true) cometd.registerExtension('timestamp', new library.TimeStampExtension())
    if (features.binary === true) cometd.registerExtension('binary', new library.BinaryExtension())
    if (features.replay !== undefined) cometd.registerExtension('replay', new library.ReplayExtension({ from: features.replay }))
    cometd.configure({ url, logLevel: 'warn' })
    for (const channel of ['/meta/handshake', '/meta/connect', '/meta/disconnect', '/meta/subscribe', '/meta/unsubscribe', '/meta/unsuccessful']) {
      cometd.addListener(channel, (message: Msg) => this.#push(this.#meta, channel, message))
    }
    this.#cometd = cometd
  }

  handshake (props?: Msg): Promise<Msg> {
    return new Promise(resolve => this.#cometd.handshake(props ?? {}, resolve))
  }

  async connected (count = 1): Promise<void> {
    await this.#until(() => (this.#meta.get('/meta/connect') ?? []).filter(m => m.successful === true).length >= count, `${count} successful /meta/connect`)
  }

  subscribe (channel: string, props?: Msg): Promise<Msg> {
    return new Promise(resolve => {
      // The client also hands meta replies to /** listeners; only events count here.
      const listener = (message: Msg): void => { if (!String(message.channel).startsWith('/meta/')) this.#push(this.#received, channel, message) }
      const handle = this.#cometd.subscribe(channel, listener, props ?? {}, resolve)
      this.#subscriptions.set(channel, handle)
    })
  }

  unsubscribe (channel: string): Promise<Msg> {
    const handle = this.#subscriptions.get(channel)
    this.#subscriptions.delete(channel)
    return new Promise(resolve => this.#cometd.unsubscribe(handle, resolve))
  }

  publish (channel: string, data: unknown, props?: Msg): Promise<Msg> {
    return new Promise(resolve => this.#cometd.publish(channel, data, props ?? {}, resolve))
  }

  publishBinary (channel: string, bytes: number[]): Promise<Msg> {
    return new Promise(resolve => this.#cometd.publishBinary(channel, new Uint8Array(bytes), true, {}, resolve))
  }

  /** `target` is the full service channel; the client itself prepends /service. */
  remoteCall (target: string, data: unknown): Promise<Msg> {
    const relative = target.replace(/^\/service(?=\/)/, '')
    return new Promise(resolve => this.#cometd.remoteCall(relative, data, 5000, resolve))
  }

  async batch (operations: BatchOperation[]): Promise<Msg[]> {
    const replies: Array<Promise<Msg>> = []
    this.#cometd.batch(() => {
      for (const operation of operations) {
        if (operation.op === 'subscribe') replies.push(this.subscribe(operation.channel))
        else if (operation.op === 'unsubscribe') replies.push(this.unsubscribe(operation.channel))
        else replies.push(this.publish(operation.channel, operation.data))
      }
    })
    return await Promise.all(replies)
  }

  disconnect (): Promise<Msg> {
    return new Promise(resolve => this.#cometd.disconnect(resolve))
  }

  async reload (): Promise<void> {
    this.#cometd.reload()
  }

  async received (channel: string, count: number): Promise<Msg[]> {
    await this.#until(() => (this.#received.get(channel) ?? []).length >= count, `${count} message(s) on ${channel}`)
    return this.#received.get(channel) ?? []
  }

  async metaReplies (channel: string, count: number): Promise<Msg[]> {
    await this.#until(() => (this.#meta.get(channel) ?? []).length >= count, `${count} ${channel} replies`)
    return this.#meta.get(channel) ?? []
  }

  async clientId (): Promise<string> {
    return this.#cometd.getClientId()
  }

  async replayIds (): Promise<Record<string, number>> {
    return this.#cometd.getExtension('replay')?.replayIds() ?? {}
  }

  async stop (): Promise<void> {
    if (this.#cometd.isDisconnected()) return
    await new Promise<void>(resolve => {
      const timer = setTimeout(resolve, 1000)
      this.#cometd.disconnect(() => { clearTimeout(timer); resolve() })
    })
  }

  #push (into: Map<string, Msg[]>, key: string, message: Msg): void {
    const list = into.get(key) ?? []
    list.push(message)
    into.set(key, list)
    for (const wake of this.#waiters.splice(0)) wake()
  }

  async #until (condition: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + WAIT_LIMIT_MS
    while (!condition()) {
      const remaining = deadline - Date.now()
      if (remaining <= 0) throw new Error(`client gave up waiting for ${what}`)
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, remaining)
        this.#waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }
}
