import type { FastifyReply, FastifyRequest } from 'fastify'
import { parseEnvelope } from './envelope.ts'
import type { Envelope } from './envelope.ts'
import type { HttpTransport, ReadLimits } from './http.ts'

/**
 * `long-polling`: a POST whose body is a JSON batch, whatever its content type
 * (C80), answered with a JSON array (C82).
 */
export const longPolling: HttpTransport = {
  name: 'long-polling',

  read (request: FastifyRequest, limits: ReadLimits): Envelope {
    const body = request.body
    if (typeof body !== 'string' || body.length === 0) return { ok: false, status: 400, reason: 'empty body' }
    return parseEnvelope(body, limits.maxMessagesPerBatch)
  },

  write (reply: FastifyReply, json: string): void {
    reply.type('application/json; charset=utf-8').send(json)
  }
}
