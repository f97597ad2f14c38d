// Replays the client side of one trace against a server URL, keeping the recording's order and
// concurrency: a step starts once every step that had finished before it started in the recording
// has finished here, after the same pause (so a held connect stays outstanding while other requests
// go on, and a deliberate wait such as a session expiry is reproduced). A client action leaves only
// once the server has read every earlier one (server-reads.ts), so the server sees them in the
// recorded order even when they travel on different connections.
import { performance } from 'node:perf_hooks'
import { Agent } from 'undici'
import { finishedAt, type HttpStep, type Message, type Trace, type TraceStep, type WsCloseStep, type WsOpenStep, type WsReceiveStep, type WsSendStep } from '../trace.ts'
import { isReply } from '../wire.ts'
import { ClientBindings } from './bindings.ts'
import { compareReply, pairReplies, type Problem } from './compare.ts'
import { EventStreams } from './event-streams.ts'
import { isolate } from './isolate.ts'
import { sendHttp, type HttpRequest, type WriteWatcher } from './http-exchange.ts'
import { ConnectPoller } from './poller.ts'
import { ReplaySocket } from './replay-socket.ts'
import { ServerReads, type ReadOracle } from './server-reads.ts'
import { WarmConnector } from './warm-connector.ts'

export interface Failure extends Problem {
  step: number
  where: string
}

export interface TraceResult {
  trace: string
  failures: Failure[]
  durationMs: number
}

/** BAYEUX_CONFORMANCE_DEBUG=1 prints every exchange of the replay on stderr. */
const DEBUG = process.env.BAYEUX_CONFORMANCE_DEBUG === '1'

const LIFECYCLE = new Set(['/meta/connect', '/meta/disconnect', '/meta/handshake'])

/** Network allowance on top of the server timeout before a missing answer counts as missing. */
const SLACK_MS = 3000

interface ReplayClient {
  bindings: ClientBindings
  dispatcher: Agent
  connector: WarmConnector
}

export function traceName (trace: Trace): string {
  return `${trace.meta.transport}/${trace.scenario}`
}

export interface ReplayOptions {
  /** Tells what the server has read (a server in this process); otherwise /proc/net/tcp is asked. */
  hasRead?: ReadOracle
}

export async function replayTrace (trace: Trace, target: string, options: ReplayOptions = {}): Promise<TraceResult> {
  const started = performance.now()
  const replay = new TraceReplay(isolate(trace), new URL(target), options)
  try {
    await replay.run()
  } finally {
    await replay.close()
  }
  return { trace: traceName(trace), failures: replay.failures, durationMs: Math.round(performance.now() - started) }
}

class TraceReplay {
  readonly failures: Failure[] = []
  #trace: Trace
  #base: URL
  #clients = new Map<string, ReplayClient>()
  #sockets = new Map<number, ReplaySocket>()
  #events: EventStreams
  #limitMs: number
  /** Per step: the client action has left (HTTP request written, frame sent), so later ones may go. */
  #dispatched: Dispatch[] = []
  #pollers = new Map<string, ConnectPoller>()
  /** What was written on the replay's connections and may not have been read by the server yet. */
  #reads: ServerReads

  constructor (trace: Trace, base: URL, options: ReplayOptions) {
    this.#trace = trace
    this.#reads = new ServerReads(options.hasRead)
    this.#base = base
    this.#limitMs = trace.meta.options.timeout + SLACK_MS
    this.#events = new EventStreams(trace.checklist)
  }

  async run (): Promise<void> {
    const steps = this.#trace.steps
    for (const step of steps) this.#events.expect(step)
    await this.#warmUp()
    const finished: Array<Promise<void>> = []
    steps.forEach((step, index) => {
      const earlier = steps.slice(0, index)
      const before = earlier.filter(e => finishedAt(e) < step.at || sameSocketAction(e, step))
      const latest = Math.max(0, ...before.map(finishedAt))
      const waitFor = before.map(e => finished[e.step] as Promise<void>)
      if (isAction(step)) waitFor.push(...earlier.filter(isAction).map(e => (this.#dispatched[e.step] as Dispatch).promise))
      const previous = earlier.findLast(e => isAction(e) && e.client === step.client)
      const dispatch = new Dispatch()
      this.#dispatched.push(dispatch)
      finished.push(Promise.all(waitFor)
        .then(() => step.kind === 'ws-receive' ? this.#wsReceive(step, step.at - latest) : this.#actInOrder(step, this.#pause(step, latest, previous)))
        .catch((error: unknown) => this.#fail(step, { rule: `replay error: ${(error as Error).message}`, checklist: '-' }))
        .finally(() => dispatch.done()))
    })
    await Promise.all(finished)
    for (const poller of this.#pollers.values()) poller.stop()
    await Promise.race([Promise.all([...this.#pollers.values()].map(p => p.settled)), sleep(this.#limitMs)])
    this.#compareWebSocketReplies()
    for (const problem of this.#events.compare()) this.#fail(steps[problem.step] ?? (steps[0] as TraceStep), problem)
  }

  async close (): Promise<void> {
    for (const socket of this.#sockets.values()) socket.terminate()
    for (const client of this.#clients.values()) client.connector.close()
    await Promise.all([...this.#clients.values()].map(client => client.dispatcher.destroy()))
  }

  /** Opens, per client, as many HTTP connections as it used in the recording (plain http only). */
  async #warmUp (): Promise<void> {
    if (this.#base.protocol !== 'http:') return
    const connections = new Map<string, Set<number>>()
    for (const step of this.#trace.steps) {
      if (step.kind === 'http') connections.set(step.client, (connections.get(step.client) ?? new Set()).add(step.connection))
    }
    await Promise.all([...connections].map(([label, used]) => this.#client(label).connector.warm(used.size)))
  }

  #client (label: string): ReplayClient {
    let client = this.#clients.get(label)
    if (client === undefined) {
      const connector = new WarmConnector(this.#base)
      const dispatcher = new Agent({ keepAliveTimeout: 10000, ...(this.#base.protocol === 'http:' && { connect: connector.connect }) })
      client = { bindings: new ClientBindings(recorded => this.#events.actualReplayId(recorded, label => this.#deliveredSoFar(label))), dispatcher, connector }
      this.#clients.set(label, client)
    }
    return client
  }

  /**
   * What `label` was delivered so far: over HTTP as the exchanges came back, over WebSocket what
   * its sockets received (those are compared only once the trace is over).
   */
  #deliveredSoFar (label: string): Message[] {
    const opened = new Set(this.#trace.steps.flatMap(step => step.kind === 'ws-open' && step.client === label ? [step.connection] : []))
    const onSockets = [...this.#sockets].flatMap(([connection, socket]) => opened.has(connection) ? socket.received.filter(m => !isReply(m)) : [])
    return [...this.#events.arrivedAt(label), ...onSockets]
  }

  /** Records where a request went out (then calls `sent`) and when it was answered. */
  #watch (sent: () => void): WriteWatcher {
    return {
      written: socket => {
        const token = socket === undefined ? 0 : this.#reads.wrote(socket)
        sent()
        return token
      },
      answered: (socket, token) => this.#reads.answered(socket, token)
    }
  }

  /** Recorded paths are relative to the recorded base path; replay them under the target's. */
  #url (recorded: string): URL {
    const base = this.#trace.meta.options.path
    const rest = recorded.startsWith(base) ? recorded.slice(base.length) : recorded
    return new URL(this.#base.pathname.replace(/\/$/, '') + rest, this.#base)
  }

  #fail (step: TraceStep, problem: Problem): void {
    const where = step.kind === 'http'
      ? `client ${step.client}, ${step.request.method} ${step.request.path}`
      : `client ${step.client}, websocket #${step.connection} ${step.kind}`
    this.failures.push({ step: step.step, where, ...problem })
  }

  /**
   * Reproduces the recorded pause after the last step this one waited for, and keeps at least the
   * recorded spacing after the client's previous action, so its requests reach the server in order.
   */
  async #pause (step: TraceStep, latest: number, previous: TraceStep | undefined): Promise<void> {
    const sentAt = previous === undefined ? undefined : this.#dispatched[previous.step]?.at
    const spacing = previous === undefined || sentAt === undefined ? 0 : step.at - previous.at - (performance.now() - sentAt)
    await sleep(Math.max(step.at - latest, spacing))
  }

  /**
   * Performs a client action after `pause`, once the server has read the earlier ones: requests
   * written on two connections may otherwise be read in the opposite order by a busy server (a
   * disconnect before the connect the recording had it release). Finding out runs during the pause.
   */
  async #actInOrder (step: ClientAction, pause: Promise<void>): Promise<void> {
    const next = step.kind === 'ws-send' || step.kind === 'ws-close' ? this.#sockets.get(step.connection)?.connection : undefined
    const [, settled] = await Promise.all([pause, this.#reads.settle(this.#limitMs, next)])
    // A synthetic connect may have gone out during the pause.
    if (!settled || !await this.#reads.settle(this.#limitMs, next)) {
      if (DEBUG) console.error(`[${traceName(this.#trace)}] step ${step.step}: the server has not read earlier requests after ${this.#limitMs} ms; going on`)
    }
    await this.#act(step)
  }

  /** Performs a client action; a connect, handshake or disconnect ends the client's synthetic polling. */
  async #act (step: ClientAction): Promise<void> {
    const messages = step.kind === 'http' ? step.request.messages : step.kind === 'ws-send' ? step.messages : []
    if (messages.some(m => LIFECYCLE.has(String(m.channel)))) this.#pollers.get(step.client)?.stop()
    switch (step.kind) {
      case 'http': return await this.#http(step)
      case 'ws-open': return await this.#wsOpen(step)
      case 'ws-send': return this.#wsSend(step)
      case 'ws-close': return await this.#wsClose(step)
    }
  }

  async #http (step: HttpStep): Promise<void> {
    const client = this.#client(step.client)
    const sent = performance.now()
    const request = { ...step.request, messages: client.bindings.substitute(step.request.messages) }
    const answer = await sendHttp(client.dispatcher, this.#url(step.request.path), request, client.bindings, this.#limitMs, this.#watch(() => this.#dispatched[step.step]?.done()))
      .catch((error: Error) => error)
    const elapsed = performance.now() - sent
    if (DEBUG) console.error(`${(performance.now() % 100000).toFixed(1)} [${traceName(this.#trace)}] step ${step.step} ${step.client} ${step.request.path} ${Math.round(elapsed)} ms =>`, answer instanceof Error ? answer.message : answer.body)
    if (answer instanceof Error) {
      this.#fail(step, { rule: `no HTTP response (${answer.message})`, checklist: 'C31' })
      return
    }
    const recorded = step.response
    const jsonp = step.request.method === 'GET'
    if (recorded.status !== 200) {
      // A superseded held connect may be answered with an error status or a 200 reply (§10 A15).
      const superseded = step.request.messages.length === 1 && step.request.messages[0]?.channel === '/meta/connect'
      if (answer.status < 400 && !superseded) this.#fail(step, { rule: 'expected an HTTP error status', checklist: 'C04', expected: recorded.status, actual: answer.status })
      return
    }
    if (answer.status !== 200) {
      this.#fail(step, { rule: 'expected HTTP 200', checklist: jsonp ? 'C84' : 'C05', expected: 200, actual: `${answer.status} ${answer.body.slice(0, 200)}` })
      return
    }
    if (!(answer.contentType ?? '').includes(jsonp ? 'javascript' : 'application/json')) {
      this.#fail(step, { rule: 'wrong Content-Type', checklist: jsonp ? 'C84' : 'C82', expected: jsonp ? 'text/javascript' : 'application/json', actual: answer.contentType })
    }
    if (jsonp && answer.callback !== step.request.jsonp) {
      this.#fail(step, { rule: 'JSONP body must call the requested callback', checklist: 'C84', expected: step.request.jsonp, actual: answer.body.slice(0, 80) })
    }
    if (answer.messages === null || answer.messages.length === 0) {
      this.#fail(step, { rule: 'body is not a non-empty JSON array', checklist: 'C05', actual: answer.body.slice(0, 200) })
      return
    }
    const delivered = this.#matchReplies(step, client.bindings, request.messages, recorded.messages ?? [], answer.messages, step.dropped !== true, this.#leftBefore(step))
    if (step.dropped !== true) this.#events.arrived(step.client, step.step, delivered)
    this.#checkHold(step, elapsed, answer.messages)
    if (step.dropped !== true && this.#lastConnectBeforeLeaving(step)) this.#keepPolling(step, request)
  }

  /**
   * A recorded connect not followed by another one of the same session was answered because the
   * client left (disconnect, new handshake). If the replay answered it earlier, the client would
   * have connected again: keep one connect outstanding for it until it leaves.
   */
  #lastConnectBeforeLeaving (step: HttpStep): boolean {
    const [connect] = step.request.messages
    if (step.request.messages.length !== 1 || connect?.channel !== '/meta/connect') return false
    const reply = step.response.messages?.find(m => m.id === connect.id)
    if (reply?.successful !== true || reply.advice?.reconnect === 'none') return false
    const next = this.#trace.steps.slice(step.step + 1).flatMap(later => later.client !== step.client
      ? []
      : (later.kind === 'http' ? later.request.messages : later.kind === 'ws-send' ? later.messages : [])
          .filter(m => m.channel === '/meta/handshake' || (LIFECYCLE.has(String(m.channel)) && m.clientId === connect.clientId)))
    return next[0]?.channel !== '/meta/connect'
  }

  /** Whether the client's next disconnect had been sent when this exchange was answered. */
  #leftBefore (step: HttpStep): boolean {
    const leaving = this.#trace.steps.slice(step.step + 1).find(later => later.client === step.client && later.kind === 'http' &&
      later.request.messages.some(m => m.channel === '/meta/disconnect'))
    const sentAt = leaving === undefined ? undefined : this.#dispatched[leaving.step]?.at
    return sentAt !== undefined
  }

  #keepPolling (step: HttpStep, request: HttpRequest): void {
    const [connect] = request.messages
    if (connect === undefined) return
    const client = this.#client(step.client)
    const url = this.#url(step.request.path)
    this.#pollers.get(step.client)?.stop()
    this.#pollers.set(step.client, new ConnectPoller(
      async messages => {
        const answer = await sendHttp(client.dispatcher, url, { ...request, messages }, client.bindings, this.#limitMs, this.#watch(() => {}))
        if (DEBUG) console.error(`${(performance.now() % 100000).toFixed(1)} [${traceName(this.#trace)}] poll after step ${step.step} ${step.client} =>`, answer.body)
        return answer.messages
      },
      connect,
      client.bindings,
      delivered => this.#events.arrived(step.client, step.step, delivered)
    ))
  }

  /** Checks the replies of one exchange and returns the messages delivered with them. */
  #matchReplies (step: TraceStep, bindings: ClientBindings, sent: Message[], expected: Message[], actual: Message[], seen: boolean, clientLeft: boolean): Message[] {
    const pairing = pairReplies(expected.filter(isReply), actual)
    for (const wanted of pairing.missing) this.#fail(step, { rule: `no reply to ${wanted.channel} id ${wanted.id}`, checklist: 'C09', expected: wanted, actual })
    for (const [wanted, reply] of pairing.pairs) {
      // reconnect:"none" is owed only by a connect the client's disconnect released (C36).
      const problems = compareReply(wanted, reply, this.#trace.meta.transport).filter(p => clientLeft || p.checklist !== 'C36')
      for (const problem of problems) this.#fail(step, { ...problem, expected: problem.expected ?? wanted, actual: problem.actual ?? reply })
      if (seen) {
        bindings.learn(wanted, reply)
        bindings.received(sent.find(m => m.id === wanted.id)?.clientId, reply)
      }
    }
    for (const extra of pairing.unexpected) this.#fail(step, { rule: 'unexpected reply', checklist: 'C09', actual: extra })
    return pairing.delivered
  }

  /**
   * A connect the recording held must be held (C30); one that asked for advice.timeout:0 must be
   * answered at once (C27). Other early answers depend on what else happened and are not judged.
   */
  #checkHold (step: HttpStep, elapsed: number, actual: Message[]): void {
    const [request] = step.request.messages
    if (step.request.messages.length !== 1 || request?.channel !== '/meta/connect') return
    if ((step.response.messages ?? []).some(m => !isReply(m)) || actual.some(m => !isReply(m))) return
    const timeout = this.#trace.meta.options.timeout
    const recorded = step.completedAt - step.at
    if (recorded >= timeout * 0.8 && elapsed < timeout * 0.25) {
      this.#fail(step, { rule: `connect answered after ${Math.round(elapsed)} ms; it must be held for the timeout (${timeout} ms)`, checklist: 'C30', expected: `~${Math.round(recorded)} ms` })
    }
    if (request.advice?.timeout === 0 && elapsed >= timeout * 0.8) {
      this.#fail(step, { rule: `connect with advice.timeout:0 held ${Math.round(elapsed)} ms; it must be answered at once`, checklist: 'C27', expected: `~${Math.round(recorded)} ms` })
    }
  }

  async #wsOpen (step: WsOpenStep): Promise<void> {
    const url = this.#url(step.path)
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
    try {
      this.#sockets.set(step.connection, await ReplaySocket.open(url))
    } catch (error) {
      this.#fail(step, { rule: `WebSocket upgrade failed: ${(error as Error).message}`, checklist: 'C88' })
    }
  }

  #wsSend (step: WsSendStep): void {
    const socket = this.#sockets.get(step.connection)
    if (socket?.open !== true) {
      this.#fail(step, { rule: 'socket not open to send', checklist: 'C91', expected: step.messages })
      return
    }
    socket.send(this.#client(step.client).bindings.substitute(step.messages))
    const token = this.#reads.wrote(socket.connection)
    socket.onReply(step.messages.flatMap(m => m.id === undefined ? [] : [m.id]), () => this.#reads.answered(socket.connection, token))
  }

  /** Waits (bounded) until what the server sent up to this step has arrived, then learns from it. */
  async #wsReceive (step: WsReceiveStep, pause: number): Promise<void> {
    const socket = this.#sockets.get(step.connection)
    if (socket === undefined) return
    const previous = this.#trace.steps.filter((s): s is WsReceiveStep => s.kind === 'ws-receive' && s.connection === step.connection && s.step <= step.step)
    const wantedReplies = step.messages.filter(isReply)
    const wantedEvents = countByChannel(previous.flatMap(s => s.messages).filter(m => !isReply(m)))
    await socket.until(() => {
      const events = countByChannel(socket.received.filter(m => !isReply(m)))
      return wantedReplies.every(w => socket.received.some(m => m.id === w.id && m.channel === w.channel)) &&
        [...wantedEvents].every(([channel, count]) => (events.get(channel) ?? 0) >= count)
    }, Math.max(0, pause) + this.#limitMs)
    const bindings = this.#client(step.client).bindings
    for (const wanted of wantedReplies) {
      const reply = socket.received.find(m => isReply(m) && m.id === wanted.id && m.channel === wanted.channel)
      if (reply === undefined) continue
      bindings.learn(wanted, reply)
      bindings.received(bindings.clientId(this.#sentClientId(step.connection, wanted.id)), reply)
    }
  }

  /** The recorded clientId of the message with this id sent on the socket. */
  #sentClientId (connection: number, id: string | undefined): string | undefined {
    for (const s of this.#trace.steps) {
      if (s.kind !== 'ws-send' || s.connection !== connection) continue
      const sent = s.messages.find(m => m.id === id)
      if (sent !== undefined) return sent.clientId
    }
    return undefined
  }

  async #wsClose (step: WsCloseStep): Promise<void> {
    const socket = this.#sockets.get(step.connection)
    if (socket === undefined) return
    if (step.by === 'client') {
      socket.close(step.code, step.reason)
      this.#reads.wrote(socket.connection)
      return
    }
    if (!await socket.until(() => socket.closedBy !== null, this.#limitMs)) {
      this.#fail(step, { rule: `server did not close the socket (recorded close code ${step.code})`, checklist: step.code === 1011 ? 'C94' : 'C93' })
    }
  }

  /** Every reply recorded on a socket must have arrived on the replayed socket (C91), nothing more. */
  #compareWebSocketReplies (): void {
    const steps = this.#trace.steps
    for (const [connection, socket] of this.#sockets) {
      const receives = steps.filter((s): s is WsReceiveStep => s.kind === 'ws-receive' && s.connection === connection)
      const open = steps.find(s => s.kind === 'ws-open' && s.connection === connection) as TraceStep
      const stepOf = new Map(receives.flatMap(s => s.messages.filter(isReply).map(m => [m, s] as const)))
      const pairing = pairReplies([...stepOf.keys()], socket.received)
      for (const wanted of pairing.missing) {
        this.#fail(stepOf.get(wanted) ?? open, { rule: `no reply to ${wanted.channel} id ${wanted.id} on the socket`, checklist: 'C91', expected: wanted })
      }
      for (const [wanted, reply] of pairing.pairs) {
        for (const problem of compareReply(wanted, reply, 'websocket')) this.#fail(stepOf.get(wanted) ?? open, { ...problem, expected: problem.expected ?? wanted, actual: problem.actual ?? reply })
      }
      for (const extra of pairing.unexpected) this.#fail(open, { rule: 'unexpected reply on the socket', checklist: 'C09', actual: extra })
      this.#events.arrived(open.client, open.step, pairing.delivered)
    }
  }
}

/** Everything but a ws-receive step: what the client does rather than what it is sent. */
type ClientAction = Exclude<TraceStep, WsReceiveStep>

function isAction (step: TraceStep): step is ClientAction {
  return step.kind !== 'ws-receive'
}

/** When a step's client action left; later actions wait for it. */
class Dispatch {
  at: number | undefined
  readonly promise: Promise<void>
  #resolve = (): void => {}

  constructor () {
    this.promise = new Promise<void>(resolve => { this.#resolve = resolve })
  }

  done (): void {
    this.at ??= performance.now()
    this.#resolve()
  }
}

/** What a client does on one socket happens in recorded order even when timestamps tie. */
function sameSocketAction (earlier: TraceStep, step: TraceStep): boolean {
  return isAction(earlier) && isAction(step) && earlier.kind !== 'http' && step.kind !== 'http' && earlier.connection === step.connection
}

function countByChannel (messages: Message[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const message of messages) counts.set(String(message.channel), (counts.get(String(message.channel)) ?? 0) + 1)
  return counts
}

function sleep (ms: number): Promise<void> {
  return ms > 0 ? new Promise(resolve => setTimeout(resolve, ms)) : Promise.resolve()
}
