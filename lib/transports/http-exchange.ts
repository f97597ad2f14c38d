import type { IncomingMessage, ServerResponse } from 'node:http'
import { parse } from 'node:querystring'
import type { Readable } from 'node:stream'
import type { ParsedUrlQuery } from 'node:querystring'
import { refusal } from './envelope.ts'
import type { Refusal } from './envelope.ts'

/** Response headers as the endpoint writes them: names in lower case, one value each. */
export type ResponseHeaders = Record<string, string | number>

/**
 * One HTTP request to the Bayeux endpoint and the way to answer it, whichever way it
 * came in: a fastify route (embedding) or the raw listener in front of fastify
 * (standalone). Everything else (reading the query, CORS, transports) is the
 * endpoint's, the same for both.
 */
export abstract class HttpExchange {
  readonly request: IncomingMessage
  readonly response: ServerResponse
  #body: string | Refusal | undefined
  #query: ParsedUrlQuery | undefined

  constructor (request: IncomingMessage, response: ServerResponse, body: string | Refusal | undefined) {
    this.request = request
    this.response = response
    this.#body = body
  }

  /** The body as text, or why it was refused; undefined when the request has none (or once forgotten). */
  get body (): string | Refusal | undefined {
    return this.#body
  }

  /** Read and parsed: a held connect keeps its exchange, not its body. */
  forgetBody (): void {
    this.#body = undefined
  }

  /** The client's address (behind a trusted proxy, as fastify's `trustProxy` says). */
  abstract get remoteAddress (): string | undefined

  /** Writes the whole response; `headers` need not hold the content length. */
  abstract send (status: number, headers: ResponseHeaders, body: string): void

  /** True once a response was written, or the connection is gone. */
  get done (): boolean {
    return this.response.headersSent || this.response.destroyed
  }

  /** The query string's parameters, a repeated one as an array. */
  get query (): ParsedUrlQuery {
    if (this.#query !== undefined) return this.#query
    const url = this.request.url ?? ''
    const start = url.indexOf('?')
    return (this.#query = start < 0 ? {} : parse(url.slice(start + 1)))
  }
}

const TOO_LARGE = refusal(413, 'too_large', 'request body is too large')

/** A body being read: what came so far, and whom to tell once it is whole. */
interface Reading {
  readonly limit: number
  readonly done: (body: string | Refusal) => void
  size: number
  first: Buffer | undefined
  more: Buffer[] | undefined
}

const READING = Symbol('reading')

/** The stream a body is read from, with its reading while it lasts. */
type BodyStream = Readable & { [READING]?: Reading | undefined }

/**
 * Reads a request body as UTF-8 text, at most `limit` bytes; a larger one (by its
 * Content-Length, or as sent) is refused without being kept. `done` is called once,
 * unless the peer goes away first. Both ways in read bodies here.
 */
export function readBody (request: Readable, contentLength: string | undefined, limit: number, done: (body: string | Refusal) => void): void {
  if (Number(contentLength) > limit) {
    done(TOO_LARGE)
    return
  }
  // The same two listeners for every request, left on it once the body is read (removing
  // them costs more than keeping them): a held connect keeps its request, but neither
  // closures of its own nor, once read, the chunks.
  (request as BodyStream)[READING] = { limit, done, size: 0, first: undefined, more: undefined }
  request.on('data', onData).on('end', onEnd)
}

function onData (this: BodyStream, chunk: Buffer): void {
  const reading = this[READING]
  // Refused as too large: the rest is not kept.
  if (reading === undefined) return
  reading.size += chunk.length
  if (reading.size > reading.limit) {
    this[READING] = undefined
    reading.done(TOO_LARGE)
  } else if (reading.first === undefined) {
    reading.first = chunk
  } else {
    (reading.more ??= [reading.first]).push(chunk)
  }
}

/** Most bodies arrive in one chunk: decoded as they are, without a copy. */
function onEnd (this: BodyStream): void {
  const reading = this[READING]
  if (reading === undefined) return
  this[READING] = undefined
  const { more, first, size } = reading
  reading.done(more !== undefined ? Buffer.concat(more, size).toString() : first?.toString() ?? '')
}
