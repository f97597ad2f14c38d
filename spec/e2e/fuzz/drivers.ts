/**
 * Sends generated payloads over each transport and checks every answer: an HTTP
 * request gets 200 with a non-empty JSON array of well-formed messages, or a 4xx with
 * a reason, never a 5xx or silence; a WebSocket frame gets a reply frame or a close
 * frame with a 1xxx code. Each concurrent worker owns a slot: a real session obtained
 * by a real handshake, renewed when the fuzz ends it.
 */
import fc from 'fast-check'
import { request } from 'undici'
import type { RunningServer } from '../../../lib/index.ts'
import { HttpPeer, WsPeer } from '../../helpers.ts'
import type { Json } from '../../helpers.ts'
import { callbackName, payload } from './arbitraries.ts'
import { materialize, preview } from './body.ts'
import type { Body, ClientIds } from './body.ts'

/** Far beyond the server's longest hold: an answer that takes this long is a hang. */
export const HANG_MS = 5_000

/** What every worker's session subscribes to when it is (re)created. */
const SLOT_SUBSCRIPTIONS = ['/fuzz/**', '/chat/*']

export class FuzzFailure extends Error {}

function fail (transport: string, problem: string, input: string | Uint8Array, answer?: string): never {
  throw new FuzzFailure(`${transport}: ${problem}\n  input:  ${preview(input)}${answer === undefined ? '' : `\n  answer: ${preview(answer)}`}`)
}

/**
 * Every message a server sends is a reply (boolean `successful`) or an event (has
 * `data`, but no id or clientId), docs/protocol.md §1.4-§1.6; the replies answer every
 * request id in `expected` (§1.5).
 */
function checkMessages (value: unknown, expected: ReadonlySet<string> = new Set()): string | undefined {
  if (!Array.isArray(value)) return 'not a JSON array'
  if (value.length === 0) return 'an empty array'
  const answered = new Set<unknown>()
  for (const message of value) {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return 'an element is not an object'
    if (typeof message.successful !== 'boolean' && !('data' in message)) return 'a message is neither a reply nor an event'
    if (typeof message.successful === 'boolean') answered.add(message.id)
    else if ('id' in message || 'clientId' in message) return 'an event carrying the publisher\'s id or clientId (C56, C57)'
  }
  for (const id of expected) if (!answered.has(id)) return `missing the reply to id ${id}`
  return undefined
}

/**
 * The request ids a 200 answer must echo: every well-formed id (C08) of the batch,
 * unless a handshake is batched with other messages (then only it is answered, C12).
 */
function expectedIds (parts: ReadonlyArray<string | Uint8Array>): Set<string> {
  const batch: unknown[] = []
  try {
    for (const part of parts) batch.push(...[JSON.parse(typeof part === 'string' ? part : Buffer.from(part).toString())].flat())
  } catch {
    return new Set()
  }
  const messages = batch.filter((m): m is Json => typeof m === 'object' && m !== null && !Array.isArray(m))
  if (batch.length > 1 && messages.some(m => m['channel'] === '/meta/handshake')) return new Set()
  return new Set(messages.map(m => m['id']).filter((id): id is string => typeof id === 'string' && /^[A-Za-z0-9]{1,64}$/.test(id)))
}

export interface Driver<Case> {
  readonly name: string
  readonly arbitrary: fc.Arbitrary<Case>
  /** Payloads sent so far. */
  sent: number
  /** How payloads were answered: `HTTP 200`, `HTTP 400`, `reply`, `close 1009`... */
  readonly outcomes: Record<string, number>
  /** Sends one case and checks its answer; resolves with what was sent. */
  run (c: Case, worker: number): Promise<string | Uint8Array>
  close (): void
}

function count (driver: Driver<unknown>, outcome: string): void {
  driver.outcomes[outcome] = (driver.outcomes[outcome] ?? 0) + 1
}

/** HTTP sessions, one per worker, each with its own browser cookie. */
export class HttpSlots {
  readonly #server: RunningServer
  readonly #peers: HttpPeer[] = []

  constructor (server: RunningServer) {
    this.#server = server
  }

  /** The worker's peer with a live session, handshaking again if the fuzz ended it. */
  async peer (worker: number): Promise<HttpPeer> {
    const peer = this.#peers[worker] ??= new HttpPeer(this.#server.url)
    if (peer.clientId === undefined || this.#server.bayeux.getSession(peer.clientId) === undefined) {
      const reply = await peer.handshake()
      if (reply['successful'] !== true) throw new FuzzFailure(`a real handshake failed: ${JSON.stringify(reply)}`)
      // Subscribed, the session gets the fuzz's broadcasts: events travel and are serialized too.
      await peer.send({ channel: '/meta/subscribe', subscription: SLOT_SUBSCRIPTIONS })
    }
    return peer
  }

  /**
   * Hands the worker's live session over (to a WebSocket), if it has one: the worker
   * handshakes a new one, so the two transports do not compete for one held connect.
   */
  take (worker: number): HttpPeer | undefined {
    const peer = this.#peers[worker]
    if (peer?.clientId === undefined || this.#server.bayeux.getSession(peer.clientId) === undefined) return undefined
    this.#peers[worker] = new HttpPeer(this.#server.url)
    return peer
  }

  /** Another worker's peer, for foreign clientIds and cookies. */
  neighbour (worker: number): HttpPeer | undefined {
    return this.#peers[(worker + 1) % Math.max(1, this.#peers.length)]
  }
}

type CookieChoice = 'own' | 'other' | 'none' | 'garbage'

const COOKIE_CHOICE = fc.constantFrom<CookieChoice>('own', 'own', 'own', 'own', 'other', 'none', 'garbage')
const GARBAGE_COOKIES = ['BAYEUX_BROWSER=', 'BAYEUX_BROWSER=x; BAYEUX_BROWSER=y', '=;;=', '__proto__=1', 'BAYEUX_BROWSER=\u00e9']
/** Path suffixes under the Bayeux path (C79). */
const SUFFIXES = ['', '/', '/connect', '/handshake', '/meta/connect', '/a/b/c/d', '/%00', '/%2e%2e/', '/%ff', '/;x', '/%C3%A9', '?x=1&__proto__=1']

function cookieHeader (choice: CookieChoice, own: HttpPeer, other: HttpPeer | undefined, garbage: number): Record<string, string> {
  const cookie = choice === 'own' ? own.cookie : choice === 'other' ? other?.cookie : choice === 'garbage' ? GARBAGE_COOKIES[garbage % GARBAGE_COOKIES.length] : undefined
  return cookie === undefined ? {} : { cookie }
}

interface Answer { status: number, text: string }

async function exchange (url: string, options: { method: string, body?: string | Uint8Array, headers: Record<string, string>, signal?: AbortSignal | undefined }): Promise<Answer> {
  const answer = await request(url, { ...options, headersTimeout: HANG_MS, bodyTimeout: HANG_MS })
  return { status: answer.statusCode, text: await answer.body.text() }
}

/** The checks shared by both HTTP transports; `unwrap` turns a 200 body into JSON text. */
function checkHttp (transport: string, input: string | Uint8Array, answer: Answer, expected: ReadonlySet<string>, unwrap: (text: string) => string | undefined): void {
  if (answer.status >= 500) fail(transport, `HTTP ${answer.status}`, input, answer.text)
  if (answer.status >= 400) {
    if (answer.text.trim() === '') fail(transport, `HTTP ${answer.status} without a reason`, input)
    return
  }
  if (answer.status !== 200) fail(transport, `unexpected HTTP ${answer.status}`, input, answer.text)
  const json = unwrap(answer.text)
  if (json === undefined) fail(transport, 'a 200 body of the wrong shape', input, answer.text)
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    fail(transport, 'a 200 body that is not JSON', input, answer.text)
  }
  const problem = checkMessages(value, expected)
  if (problem !== undefined) fail(transport, `a 200 body that is ${problem}`, input, answer.text)
}

export interface LongPollingCase {
  method: string
  suffix: string
  contentType: string | undefined
  origin: string | undefined
  cookie: CookieChoice
  garbage: number
  body: Body
  /** Goes away after this many ms, whether answered or not: the server must cope with a vanished client. */
  abortAfter: number | undefined
}

/** `long-polling`: POST bodies (and a few other methods, which must be refused cleanly). */
export function longPollingDriver (server: RunningServer, sizes: { huge: number, deep: number }, maxBatch: number, slots = new HttpSlots(server)): Driver<LongPollingCase> {
  const driver: Driver<LongPollingCase> = {
    name: 'long-polling',
    sent: 0,
    outcomes: {},
    arbitrary: fc.record({
      method: fc.oneof({ weight: 20, arbitrary: fc.constant('POST') }, fc.constantFrom('PUT', 'DELETE', 'PATCH')),
      suffix: fc.oneof({ weight: 6, arbitrary: fc.constant('') }, fc.constantFrom(...SUFFIXES)),
      contentType: fc.oneof({ weight: 6, arbitrary: fc.constant('application/json;charset=UTF-8') }, fc.constantFrom(undefined, 'text/plain',
        'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=iso-8859-1', '*/*', 'garbage', '')),
      origin: fc.oneof({ weight: 12, arbitrary: fc.constant(undefined) }, fc.constantFrom('http://evil.example', 'null', '')),
      cookie: COOKIE_CHOICE,
      garbage: fc.nat(),
      body: payload(sizes, maxBatch),
      abortAfter: fc.oneof({ weight: 30, arbitrary: fc.constant(undefined) }, fc.nat(20))
    }),
    async run (c, worker) {
      const peer = await slots.peer(worker)
      const other = slots.neighbour(worker)
      const input = materialize(c.body, { own: peer.clientId, other: other?.clientId })
      const headers = {
        ...cookieHeader(c.cookie, peer, other, c.garbage),
        ...(c.contentType !== undefined && { 'content-type': c.contentType }),
        ...(c.origin !== undefined && { origin: c.origin })
      }
      driver.sent++
      let answer: Answer
      try {
        answer = await exchange(server.url + c.suffix, { method: c.method, body: input, headers, signal: c.abortAfter === undefined ? undefined : AbortSignal.timeout(c.abortAfter) })
      } catch (error) {
        if (c.abortAfter !== undefined) {
          count(driver, 'aborted')
          return input
        }
        fail('long-polling', `no answer (${(error as Error).message})`, input)
      }
      count(driver, `HTTP ${answer.status}`)
      checkHttp('long-polling', input, answer, expectedIds([input]), text => text)
      return input
    },
    close () {}
  }
  return driver
}

export interface CallbackPollingCase {
  callbacks: string[]
  messages: Body[]
  extra: string
  suffix: string
  cookie: CookieChoice
  garbage: number
}

/** Query parameters that parsers trip over. */
const EXTRA_QUERIES = ['&message=%ff', '&message=%', '&message=%zz', '&jsonp=%E2%80%A8', '&__proto__=1', '&constructor=1',
  '&__proto__[polluted]=1', '&message[]=1', '&jsonp[]=x', '&message=', '&&&', '&=', '&message', '&hasOwnProperty=1', '&toString=x']

/** Percent-encodes text; lone surrogates (which encodeURIComponent refuses) travel as U+FFFD, as a browser sends them. */
function encodeText (text: string): string {
  return encodeURIComponent(text.replace(/[\uD800-\uDFFF]/gu, '\uFFFD'))
}

function encodePart (data: string | Uint8Array): string {
  return typeof data === 'string' ? encodeText(data) : Buffer.from(data).toString('hex').replace(/../g, '%$&')
}

/** `callback-polling`: GET with `jsonp` and `message` parameters, answered as a script (C84, C85). */
export function callbackPollingDriver (server: RunningServer, sizes: { huge: number, deep: number }, maxBatch: number): Driver<CallbackPollingCase> {
  const slots = new HttpSlots(server)
  const driver: Driver<CallbackPollingCase> = {
    name: 'callback-polling',
    sent: 0,
    outcomes: {},
    arbitrary: fc.record({
      callbacks: fc.oneof({ weight: 12, arbitrary: callbackName.map(name => [name]) }, fc.array(callbackName, { maxLength: 2 })),
      messages: fc.oneof({ weight: 10, arbitrary: payload(sizes, maxBatch).map(body => [body]) }, fc.array(payload(sizes, maxBatch), { maxLength: 3 })),
      extra: fc.oneof({ weight: 15, arbitrary: fc.constant('') }, fc.constantFrom(...EXTRA_QUERIES)),
      suffix: fc.oneof({ weight: 8, arbitrary: fc.constant('') }, fc.constantFrom(...SUFFIXES.filter(s => !s.includes('?')))),
      cookie: COOKIE_CHOICE,
      garbage: fc.nat()
    }),
    async run (c, worker) {
      const peer = await slots.peer(worker)
      const other = slots.neighbour(worker)
      const ids: ClientIds = { own: peer.clientId, other: other?.clientId }
      const messages = c.messages.map(body => materialize(body, ids))
      const parts = [
        ...c.callbacks.map(name => `jsonp=${encodeText(name)}`),
        ...messages.map(message => `message=${encodePart(message)}`)
      ]
      const query = `?${parts.join('&')}${c.extra}`
      driver.sent++
      let answer: Answer
      try {
        answer = await exchange(server.url + c.suffix + query, { method: 'GET', headers: cookieHeader(c.cookie, peer, other, c.garbage) })
      } catch (error) {
        fail('callback-polling', `no answer (${(error as Error).message})`, query)
      }
      count(driver, `HTTP ${answer.status}`)
      checkHttp('callback-polling', query, answer, expectedIds(messages), text => {
        // Only a single valid callback may be echoed, wrapped as `/**/cb([...]);` with no raw line separators (C85, docs/protocol.md §5.3).
        const match = /^\/\*\*\/([A-Za-z0-9_$.]+)\(([\s\S]*)\);$/.exec(text)
        if (match === null || c.callbacks.length !== 1 || match[1] !== c.callbacks[0] || /[\u2028\u2029]/.test(text)) return undefined
        return match[2]
      })
      return query
    },
    close () {}
  }
  return driver
}

export interface WebSocketCase {
  frame: Body
  binary: boolean
  /** Cuts the connection right after sending, without a close handshake. */
  hangUp: boolean
  /** Moves a live long-polling session onto a new socket, with its cookie (C90), before sending. */
  adopt: boolean
  /** Also tries an upgrade on this path and with this Origin: it must open, or be refused with a 4xx. */
  upgrade: { suffix: string, origin: string | undefined } | undefined
}

/** Upgrade targets: wrong paths (404), foreign origins (403), odd queries. */
const UPGRADES = fc.record({
  suffix: fc.constantFrom('', '/', '/x', '/cometd', '/%ff', '?jsonp=x&message=%ff', '/..', '//', '?__proto__=1'),
  origin: fc.constantFrom(undefined, 'http://evil.example', 'null', '', 'http://127.0.0.1')
})

/** Opens a side socket: true if it opened (it is closed at once), else the HTTP status it was refused with. */
async function tryUpgrade (url: string, origin: string | undefined): Promise<true | number> {
  try {
    const peer = await WsPeer.open(url, origin === undefined ? {} : { origin })
    peer.close()
    return true
  } catch (error) {
    const status = /^HTTP (\d+)$/.exec((error as Error).message)
    if (status === null) throw error
    return Number(status[1])
  }
}

function isLoneConnect (input: string | Uint8Array): boolean {
  try {
    const value = JSON.parse(typeof input === 'string' ? input : Buffer.from(input).toString())
    const batch: unknown[] = Array.isArray(value) ? value : [value]
    return batch.length === 1 && (batch[0] as Json | null)?.['channel'] === '/meta/connect'
  } catch {
    return false
  }
}

/**
 * `websocket`: one socket per worker, frames sent one at a time so each reply can be
 * awaited. With `http`, a worker sometimes takes over a long-polling worker's session.
 */
export function webSocketDriver (server: RunningServer, sizes: { huge: number, deep: number }, maxBatch: number, http?: HttpSlots): Driver<WebSocketCase> {
  const peers: WsPeer[] = []
  /** Sockets carrying a session that came from long-polling. */
  const adopted = new WeakSet<WsPeer>()

  const open = async (worker: number, adopt: boolean): Promise<WsPeer> => {
    const moving = adopt ? http?.take(worker) : undefined
    if (moving !== undefined) {
      peers[worker]?.close()
      const peer = peers[worker] = await WsPeer.open(server.url, { headers: { cookie: moving.cookie ?? '' } })
      peer.clientId = moving.clientId
      adopted.add(peer)
      count(driver, 'moved from long-polling')
      return peer
    }
    let peer = peers[worker]
    if (peer === undefined || peer.socket.readyState !== peer.socket.OPEN) peer = peers[worker] = await WsPeer.open(server.url)
    if (peer.clientId === undefined || server.bayeux.getSession(peer.clientId) === undefined) {
      const reply = await peer.handshake()
      if (reply['successful'] !== true) throw new FuzzFailure(`a real WebSocket handshake failed: ${JSON.stringify(reply)}`)
      const id = peer.send({ channel: '/meta/subscribe', subscription: SLOT_SUBSCRIPTIONS })
      await peer.until(message => message['id'] === id)
    }
    return peer
  }

  /** Frames until one carries a reply; pushed event frames on the way are checked too. */
  const reply = async (peer: WsPeer, input: string | Uint8Array): Promise<void> => {
    const expected = expectedIds([input])
    for (;;) {
      const frame: Json[] = await peer.next()
      const replies = frame.some(message => typeof message['successful'] === 'boolean')
      const problem = checkMessages(frame, replies ? expected : undefined)
      if (problem !== undefined) fail('websocket', `a frame that is ${problem}`, input, JSON.stringify(frame))
      if (replies) return
    }
  }

  const driver: Driver<WebSocketCase> = {
    name: 'websocket',
    sent: 0,
    outcomes: {},
    arbitrary: fc.record({
      frame: payload(sizes, maxBatch),
      binary: fc.oneof({ weight: 30, arbitrary: fc.constant(false) }, fc.constant(true)),
      hangUp: fc.oneof({ weight: 40, arbitrary: fc.constant(false) }, fc.constant(true)),
      adopt: fc.oneof({ weight: 20, arbitrary: fc.constant(false) }, fc.constant(true)),
      upgrade: fc.oneof({ weight: 20, arbitrary: fc.constant(undefined) }, UPGRADES)
    }),
    async run (c, worker) {
      if (c.upgrade !== undefined) {
        const target = server.url + c.upgrade.suffix
        let timer: NodeJS.Timeout | undefined
        const hang = new Promise<'hang'>(resolve => { timer = setTimeout(resolve, HANG_MS, 'hang') })
        const outcome = await Promise.race([tryUpgrade(target, c.upgrade.origin), hang])
          .catch((error: Error) => fail('websocket', `upgrade failed: ${error.message}`, target))
          .finally(() => clearTimeout(timer))
        if (outcome === 'hang') fail('websocket', 'an upgrade got no answer', target)
        if (outcome !== true && (outcome < 400 || outcome >= 500)) fail('websocket', `an upgrade refused with HTTP ${outcome}`, target)
        count(driver, outcome === true ? 'upgrade accepted' : `upgrade refused ${outcome}`)
      }
      const peer = await open(worker, c.adopt)
      const other = peers[(worker + 1) % peers.length]
      const input = materialize(c.frame, { own: peer.clientId, other: other?.clientId })
      driver.sent++
      // ws sends arbitrary bytes as a text frame when told it is not binary: invalid UTF-8 must close with 1007.
      peer.socket.send(input, { binary: c.binary })
      if (c.hangUp) {
        peer.socket.terminate()
        count(driver, 'hung up')
        return input
      }
      let timer: NodeJS.Timeout | undefined
      const outcome = await Promise.race([
        reply(peer, input).then(() => 'replied' as const),
        peer.closed,
        new Promise<'hang'>(resolve => { timer = setTimeout(resolve, HANG_MS, 'hang') })
      ]).finally(() => clearTimeout(timer))
      if (outcome === 'hang') {
        // A request of the session's former HTTP client, still in flight, may have
        // replaced the held connect: over WebSocket that one is dropped silently (C34).
        if (adopted.has(peer) && isLoneConnect(input)) {
          count(driver, 'connect superseded')
          return input
        }
        fail('websocket', 'neither a reply nor a close', input)
      }
      count(driver, outcome === 'replied' ? 'reply' : `close ${outcome.code}`)
      if (outcome === 'replied') return input
      // 1005 and 1006 mean the socket ended without a close frame: the server dropped it.
      if (outcome.code < 1000 || outcome.code > 1015 || outcome.code === 1005 || outcome.code === 1006) {
        fail('websocket', `closed with code ${outcome.code}`, input, outcome.reason)
      }
      return input
    },
    close () {
      for (const peer of peers) peer.close()
    }
  }
  return driver
}
