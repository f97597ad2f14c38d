// The trace format shared by the recorder (which writes it) and the replayer (which reads it).
// One JSON document per scenario and transport, under conformance/traces/<transport>/<scenario>.json.

export type Transport = 'long-polling' | 'callback-polling' | 'websocket'
export const TRANSPORTS: readonly Transport[] = ['long-polling', 'callback-polling', 'websocket']

/** A Bayeux message as it travels on the wire; fields beyond these are kept verbatim. */
export interface Message {
  channel?: string
  id?: string
  clientId?: string
  successful?: boolean
  subscription?: string | string[]
  data?: unknown
  error?: string
  advice?: Record<string, unknown>
  ext?: Record<string, unknown>
  [field: string]: unknown
}

/** Server timing options every trace was recorded with; a server under test must use the same. */
export interface ServerOptions {
  path: string
  timeout: number
  interval: number
  maxInterval: number
}

/** Where the recorded answer was knowingly replaced by what docs/protocol.md prescribes. */
export interface Deviation {
  step: number
  checklist: string
  recorded: unknown
  note: string
}

export interface TraceMeta {
  client: { name: string, version: string, runtime: string }
  transport: Transport
  server: { name: string, version: string }
  options: ServerOptions
  profile: string
  recordedAt: string
  checkedAgainst: string
  deviations: Deviation[]
}

interface Step {
  /** Position in the trace, 0-based; failures cite it. */
  step: number
  /** Which client (one cookie jar, one loopback host) the step belongs to: 'A', 'B', ... */
  client: string
  /** Client connection number (TCP connection for HTTP, socket for WebSocket), per trace. */
  connection: number
  /** Milliseconds since the start of the recording when the step began. */
  at: number
}

export interface HttpStep extends Step {
  kind: 'http'
  request: {
    method: 'POST' | 'GET'
    path: string
    /** JSONP callback name (callback-polling only). */
    jsonp?: string
    /** Names of the cookies the client sent. */
    cookies: string[]
    messages: Message[]
  }
  response: {
    status: number
    contentType: string | null
    /** Names of cookies the server set. */
    setCookies: string[]
    /** JSONP callback the body invoked (callback-polling only). */
    callback?: string
    /** Parsed body; null when it was empty or not a Bayeux payload. */
    messages: Message[] | null
  }
  /** Milliseconds since the start when the response had been received completely. */
  completedAt: number
  /** The recorder cut this response off before the client saw it (simulated network loss). */
  dropped?: boolean
}

export interface WsOpenStep extends Step { kind: 'ws-open', path: string }
export interface WsSendStep extends Step { kind: 'ws-send', messages: Message[] }
export interface WsReceiveStep extends Step { kind: 'ws-receive', messages: Message[] }
export interface WsCloseStep extends Step { kind: 'ws-close', by: 'client' | 'server', code: number, reason: string }

export type TraceStep = HttpStep | WsOpenStep | WsSendStep | WsReceiveStep | WsCloseStep

export interface Trace {
  format: 'bayeux-conformance-trace/1'
  scenario: string
  description: string
  /** docs/protocol.md checklist items (§9) the scenario exercises. */
  checklist: string[]
  meta: TraceMeta
  steps: TraceStep[]
}

/** Moment at which a step is over, as far as later steps can depend on it. */
export function finishedAt (step: TraceStep): number {
  return step.kind === 'http' ? step.completedAt : step.at
}
