/** Shapes of Bayeux messages as they travel on the wire (docs/protocol.md §1). */

export type Reconnect = 'retry' | 'handshake' | 'none'

export interface Advice {
  reconnect?: Reconnect
  interval?: number
  timeout?: number
  maxInterval?: number
  'multiple-clients'?: boolean
  [key: string]: unknown
}

export type Ext = Record<string, unknown>

/** A message received from a client, after validation (see validation.ts). */
export interface Message {
  channel: string
  id?: string
  clientId?: string
  data?: unknown
  ext?: Ext
  advice?: Advice
  subscription?: string | string[]
  connectionType?: string
  version?: string
  minimumVersion?: string
  supportedConnectionTypes?: string[]
  [key: string]: unknown
}

/** A reply to one request message: same channel, same id. */
export interface Reply {
  channel: string
  id?: string
  successful: boolean
  error?: string
  clientId?: string
  version?: string
  minimumVersion?: string
  supportedConnectionTypes?: string[]
  subscription?: string | string[]
  advice?: Advice
  ext?: Ext
  data?: unknown
}

/** What a broadcast event looks like to subscribers: no clientId, no id (C56, C57). */
export interface EventMessage {
  channel: string
  data: unknown
  ext?: Ext
}

export const META_HANDSHAKE = '/meta/handshake'
export const META_CONNECT = '/meta/connect'
export const META_SUBSCRIBE = '/meta/subscribe'
export const META_UNSUBSCRIBE = '/meta/unsubscribe'
export const META_DISCONNECT = '/meta/disconnect'
