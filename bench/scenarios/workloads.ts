// Who subscribes to what, for each scenario. Every session's channel list, and how many
// subscribers each channel has, so that expected deliveries can be computed exactly.

export interface Workload {
  /** Channels of each subscribing session. */
  sessions: string[][]
  /** Channels the publishers cycle through. */
  channels: string[]
  subscribersOf: Map<string, number>
}

function workload (sessions: string[][], channels: string[]): Workload {
  const subscribersOf = new Map<string, number>(channels.map((channel) => [channel, 0]))
  for (const channel of sessions.flat()) subscribersOf.set(channel, (subscribersOf.get(channel) ?? 0) + 1)
  return { sessions, channels, subscribersOf }
}

/**
 * CometD's reference benchmark: clients in rooms of equal size, each client in 10 rooms
 * (1,000 clients → 100 rooms of 100). Client i joins the 10 rooms congruent to i modulo rooms/10.
 */
export function chatRooms (clients: number): Workload {
  const rooms = Math.max(10, Math.round(clients / 100) * 10)
  const stride = rooms / 10
  const channels = Array.from({ length: rooms }, (_, room) => `/chat/room${room}`)
  const sessions = Array.from({ length: clients }, (_, client) =>
    Array.from({ length: 10 }, (_, j) => channels[(client + j * stride) % rooms]!)
  )
  return workload(sessions, channels)
}

/** Every session on one channel. */
export function broadcast (clients: number): Workload {
  return workload(Array.from({ length: clients }, () => ['/broadcast']), ['/broadcast'])
}

/** Deliveries one publish causes, on average over the channels published to. */
export function meanFanOut (load: Workload): number {
  const total = load.channels.reduce((sum, channel) => sum + load.subscribersOf.get(channel)!, 0)
  return total / load.channels.length
}
