/** The transports the server can offer, in the order clients should prefer them. */
export const TRANSPORT_NAMES = ['websocket', 'long-polling', 'callback-polling'] as const

export type TransportName = typeof TRANSPORT_NAMES[number]
