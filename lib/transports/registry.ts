import { callbackPolling } from './callback-polling.ts'
import { longPolling } from './long-polling.ts'
import { websocket } from './websocket.ts'

/**
 * Every transport the server can offer, in the order clients should prefer them
 * (the default of the `transports` option). Adding a transport is one module
 * exporting a Transport, and one entry here.
 */
export const TRANSPORTS = [websocket, longPolling, callbackPolling] as const

export type TransportName = (typeof TRANSPORTS)[number]['name']

export const TRANSPORT_NAMES: readonly TransportName[] = TRANSPORTS.map(transport => transport.name)
