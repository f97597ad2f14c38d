// Parsing and building of Bayeux payloads as they appear on the wire, shared by recorder and replayer.
import type { Message } from './trace.ts'

/** Parses a JSON payload into a message list; a bare object counts as a one-message batch (§1.1). */
export function parseMessages (text: string): Message[] | null {
  try {
    const value: unknown = JSON.parse(text)
    if (Array.isArray(value)) return value as Message[]
    if (value !== null && typeof value === 'object') return [value as Message]
    return null
  } catch {
    return null
  }
}

const JSONP_BODY = /^\s*(?:\/\*\*\/)?\s*([A-Za-z0-9_$.-]+)\(([\s\S]*)\)\s*;?\s*$/

/** Splits a callback-polling body `cb([...])` (optionally Faye-style `/**\/cb([...]);`). */
export function parseJsonp (text: string): { callback: string, messages: Message[] | null } | null {
  const match = JSONP_BODY.exec(text)
  if (match === null) return null
  return { callback: match[1] as string, messages: parseMessages(match[2] as string) }
}

/** Cookie names from a Cookie request header. */
export function cookieNames (header: string | undefined): string[] {
  if (header === undefined || header === '') return []
  return header.split(';').map(pair => pair.trim().split('=')[0] as string).filter(name => name !== '')
}

/** Name and value from each Set-Cookie header, attributes dropped. */
export function setCookiePairs (headers: string | string[] | undefined): Array<[string, string]> {
  const list = headers === undefined ? [] : Array.isArray(headers) ? headers : [headers]
  return list.map(header => {
    const pair = (header.split(';')[0] as string).trim()
    const equal = pair.indexOf('=')
    return [pair.slice(0, equal), pair.slice(equal + 1)] as [string, string]
  }).filter(([name]) => name !== '')
}

export function isMeta (channel: unknown): boolean {
  return typeof channel === 'string' && channel.startsWith('/meta/')
}

/**
 * A reply answers one request (it carries the request id and no data); everything else a client
 * receives (events, remote-call responses, a server-initiated /meta/disconnect) is delivered (§1.6).
 */
export function isReply (message: Message): boolean {
  return message.id !== undefined && (isMeta(message.channel) || !('data' in message))
}
