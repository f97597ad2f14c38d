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
  let first: Buffer | undefined
  let more: Buffer[] | undefined
  let size = 0
  // The request lives as long as a held connect: once read, it keeps neither the
  // listeners nor, through them, the chunks.
  const stop = (): void => {
    request.off('data', onData).off('end', onEnd)
    first = more = undefined
  }
  const onData = (chunk: Buffer): void => {
    size += chunk.length
    if (size > limit) {
      stop()
      done(TOO_LARGE)
    } else if (first === undefined) {
      first = chunk
    } else {
      (more ??= [first]).push(chunk)
    }
  }
  // Most bodies arrive in one chunk: decoded as they are, without a copy.
  const onEnd = (): void => {
    const body = more !== undefined ? Buffer.concat(more, size).toString() : first?.toString() ?? ''
    stop()
    done(body)
  }
  request.on('data', onData).on('end', onEnd)
}
