// Messages between the controller (bench/run.ts) and its load-generating agent processes.
import type { ClientProblems } from './bayeux-client.ts'
import type { DeliveryCounts } from './delivery-tracker.ts'
import type { HistogramSnapshot } from './histogram.ts'

export type Transport = 'ws' | 'lp'

export interface OpenCommand {
  kind: 'open'
  /** The nodes' URLs: session i goes to urls[(firstSession + i) % urls.length] (round robin). */
  urls: string[]
  /** This command's first session's index in the whole load, so round robin spans every agent. */
  firstSession: number
  transport: Transport
  localAddresses: string[]
  /** Channels each new session subscribes to; an empty list makes a publisher-only session. */
  sessions: string[][]
  concurrency: number
}

export interface PublishCommand {
  kind: 'publish'
  /** Messages per second over all of this agent's sessions. */
  rate: number
  durationMs: number
  channels: string[]
  payloadBytes: number
}

export interface CollectCommand {
  kind: 'collect'
  reset: boolean
}

export interface CloseCommand {
  kind: 'close'
}

export type Command = OpenCommand | PublishCommand | CollectCommand | CloseCommand

export interface OpenResult {
  opened: number
  failed: number
  lastError: string
}

/** Messages published per channel during one publish command. */
export type PublishResult = Record<string, number>

export interface CollectResult {
  counts: DeliveryCounts
  latency: HistogramSnapshot
  problems: ClientProblems
  /** Cumulative user + system CPU of the agent process, in microseconds. */
  cpuMicros: number
}

export interface Reply {
  id: number
  result?: unknown
  error?: string
}
