import { Histogram } from './histogram.ts'
import { Agent } from './agent-pool.ts'
import type { ClientProblems } from './bayeux-client.ts'
import type { DeliveryCounts } from './delivery-tracker.ts'
import type { CollectResult, PublishResult, Transport } from './protocol.ts'

/** Sessions per agent process: well under the 20,000 open files a process may have here. */
const SESSIONS_PER_AGENT = 5000
const OPEN_CONCURRENCY = 100
/**
 * Publishes per second one publishing session is asked for at most: servers may rate-limit a
 * session (ours defaults to 1,000/s), and real applications spread publishing over many clients.
 */
const PUBLISHES_PER_SESSION = 250
const MIN_PUBLISHER_SESSIONS = 4

/** Everything the agents saw between two resets, merged. */
export interface Observation {
  counts: DeliveryCounts
  latency: Histogram
  problems: ClientProblems
  generatorCpuMicros: number
}

/**
 * Which node each session talks to: subscribing sessions go round robin over `subscribers`,
 * publishing sessions over `publishers` (the same list, or node 0 alone for a cross-node case).
 */
export interface Placement {
  subscribers: string[]
  publishers: string[]
}

/**
 * The controller's view of the load generator: subscriber agents spread over several source
 * addresses, plus one agent whose sessions only publish.
 */
export class LoadGenerator {
  #subscribers: Agent[]
  #publisher: Agent
  #transport: Transport
  #placement: Placement

  constructor (placement: Placement, transport: Transport, sessionCount: number, cores: string | undefined) {
    this.#placement = placement
    this.#transport = transport
    const agents = Math.max(1, Math.ceil(sessionCount / SESSIONS_PER_AGENT))
    this.#subscribers = Array.from({ length: agents }, () => new Agent(cores))
    this.#publisher = new Agent(cores)
  }

  /**
   * Opens and subscribes the sessions (agent i uses source address 127.0.0.(i+2)), plus enough
   * publishing sessions for `maxPublishRate` publishes per second.
   */
  async open (sessions: string[][], maxPublishRate: number): Promise<{ opened: number, failed: number, lastError: string }> {
    const publishers = Math.max(MIN_PUBLISHER_SESSIONS, Math.ceil(maxPublishRate / PUBLISHES_PER_SESSION))
    const share = Math.ceil(sessions.length / this.#subscribers.length)
    const results = await Promise.all([
      ...this.#subscribers.map((agent, index) =>
        agent.open({
          urls: this.#placement.subscribers,
          firstSession: index * share,
          transport: this.#transport,
          localAddresses: [`127.0.0.${index + 2}`],
          sessions: sessions.slice(index * share, (index + 1) * share),
          concurrency: OPEN_CONCURRENCY
        })
      ),
      this.#publisher.open({
        urls: this.#placement.publishers,
        firstSession: 0,
        transport: this.#transport,
        localAddresses: ['127.0.0.1'],
        sessions: Array.from({ length: publishers }, () => []),
        concurrency: OPEN_CONCURRENCY
      })
    ])
    return {
      opened: results.slice(0, -1).reduce((sum, result) => sum + result.opened, 0),
      failed: results.reduce((sum, result) => sum + result.failed, 0),
      lastError: results.map((result) => result.lastError).find((error) => error !== '') ?? ''
    }
  }

  publish (rate: number, durationMs: number, channels: string[], payloadBytes: number): Promise<PublishResult> {
    return this.#publisher.publish({ rate, durationMs, channels, payloadBytes })
  }

  /** Merged observations of every agent; `reset` starts the next measurement window. */
  async observe (reset: boolean): Promise<Observation> {
    const results: CollectResult[] = await Promise.all([...this.#subscribers, this.#publisher].map((agent) => agent.collect(reset)))
    const latency = new Histogram()
    const observation: Observation = {
      counts: { unique: 0, duplicates: 0, outOfOrder: 0, gaps: 0 },
      latency,
      problems: { failedReplies: 0, transportErrors: 0, lastError: '', sessionsLost: 0 },
      generatorCpuMicros: 0
    }
    for (const result of results) {
      latency.merge(result.latency)
      for (const key of ['unique', 'duplicates', 'outOfOrder', 'gaps'] as const) observation.counts[key] += result.counts[key]
      observation.problems.failedReplies += result.problems.failedReplies
      observation.problems.transportErrors += result.problems.transportErrors
      observation.problems.sessionsLost += result.problems.sessionsLost
      observation.problems.lastError ||= result.problems.lastError
      observation.generatorCpuMicros += result.cpuMicros
    }
    return observation
  }

  async stop (): Promise<void> {
    await Promise.all([...this.#subscribers, this.#publisher].map((agent) => agent.stop()))
  }
}
