// A load-generating process: owns thousands of lean Bayeux sessions and obeys the controller.
import { Pool } from 'undici'
import { BayeuxClient, type ClientProblems, type LinkFactory, type Message } from './bayeux-client.ts'
import { DeliveryTracker } from './delivery-tracker.ts'
import { longPollingLink } from './http-link.ts'
import { PayloadFactory, type Payload } from './payload.ts'
import { SourceAddress } from './source-address.ts'
import type { CollectResult, Command, OpenCommand, OpenResult, PublishCommand, PublishResult, Reply } from './protocol.ts'
import { webSocketLink } from './ws-link.ts'

const PUBLISH_TICK_MS = 1

const tracker = new DeliveryTracker()
const problems: ClientProblems = { failedReplies: 0, transportErrors: 0, lastError: '', sessionsLost: 0 }
const sessions: BayeuxClient[] = []
const publishers: Array<{ client: BayeuxClient, publisherId: number, sequences: Map<string, number> }> = []
const pools: Pool[] = []

/** One link factory per (node URL, source address). */
function linkFactories (command: OpenCommand): LinkFactory[][] {
  return command.urls.map((href) => {
    const url = new URL(href)
    return command.localAddresses.map((address) => {
      const source = new SourceAddress(address)
      if (command.transport === 'ws') return webSocketLink(url.href.replace(/^http/, 'ws'), source)
      // undici's default keep-alive timeout stays below Node's server-side 5 s, so an idle
      // connection is never reused at the moment the server closes it.
      const pool = new Pool(url.origin, {
        pipelining: 1,
        connect: (options, callback) => source.connect(options.hostname, Number(url.port), callback)
      })
      pools.push(pool)
      return longPollingLink(pool, url.pathname)
    })
  })
}

async function openSession (linkFactory: LinkFactory, channels: string[]): Promise<void> {
  const streams = tracker.newSubscriber()
  const onEvent = (message: Message): void => tracker.record(streams, message.channel, message.data as Payload)
  const client = new BayeuxClient(onEvent, problems)
  await client.open(linkFactory)
  if (channels.length > 0) await client.subscribe(channels)
  sessions.push(client)
  // Publisher ids must be unique across agents: the process id plus a local index is.
  if (channels.length === 0) publishers.push({ client, publisherId: process.pid * 1000 + publishers.length, sequences: new Map() })
}

async function open (command: OpenCommand): Promise<OpenResult> {
  const factories = linkFactories(command)
  const result: OpenResult = { opened: 0, failed: 0, lastError: '' }
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < command.sessions.length) {
      const index = next++
      try {
        const node = factories[(command.firstSession + index) % factories.length]!
        await openSession(node[index % node.length]!, command.sessions[index]!)
        result.opened++
      } catch (error) {
        result.failed++
        result.lastError = (error as Error).message
      }
    }
  }
  await Promise.all(Array.from({ length: command.concurrency }, worker))
  return result
}

/** Publishes at a steady rate, catching up on timer lateness, spreading messages over publishers and channels. */
function publish (command: PublishCommand): Promise<PublishResult> {
  const published: PublishResult = {}
  for (const channel of command.channels) published[channel] = 0
  const payloads = publishers.map(({ publisherId }) => new PayloadFactory(publisherId, command.payloadBytes))
  const start = performance.now()
  let sent = 0
  let channelCursor = 0
  let publisherCursor = 0
  return new Promise((resolve) => {
    const tick = (): void => {
      const elapsed = Math.min(performance.now() - start, command.durationMs)
      const due = Math.floor((elapsed * command.rate) / 1000) - sent
      const batches = publishers.map(() => [] as Array<{ channel: string, data: unknown }>)
      for (let i = 0; i < due; i++) {
        const channel = command.channels[channelCursor++ % command.channels.length]!
        const index = publisherCursor++ % publishers.length
        const sequences = publishers[index]!.sequences
        const sequence = sequences.get(channel) ?? 0
        sequences.set(channel, sequence + 1)
        batches[index]!.push({ channel, data: payloads[index]!.create(sequence) })
        published[channel]!++
      }
      sent += Math.max(due, 0)
      batches.forEach((batch, index) => batch.length > 0 && publishers[index]!.client.publish(batch))
      if (elapsed >= command.durationMs) {
        clearInterval(timer)
        resolve(published)
      }
    }
    const timer = setInterval(tick, PUBLISH_TICK_MS)
  })
}

function collect (reset: boolean): CollectResult {
  const usage = process.cpuUsage()
  const result: CollectResult = {
    counts: tracker.counts,
    latency: tracker.latency.snapshot(),
    problems: { ...problems },
    cpuMicros: usage.user + usage.system
  }
  if (reset) {
    tracker.reset()
    Object.assign(problems, { failedReplies: 0, transportErrors: 0, lastError: '', sessionsLost: 0 })
  }
  return result
}

async function close (): Promise<void> {
  for (const session of sessions) session.close()
  await new Promise((resolve) => setTimeout(resolve, 200))
  await Promise.all(pools.map((pool) => pool.destroy()))
}

async function execute (command: Command): Promise<unknown> {
  switch (command.kind) {
    case 'open':
      return open(command)
    case 'publish':
      return publish(command)
    case 'collect':
      return collect(command.reset)
    case 'close':
      return close()
  }
}

process.on('message', (request: { id: number, command: Command }) => {
  // Exiting by ourselves after 'close' (rather than being killed) lets --cpu-prof write its profile.
  const then = (): void => {
    if (request.command.kind === 'close') process.exit(0)
  }
  execute(request.command).then(
    (result) => process.send!({ id: request.id, result } satisfies Reply, then),
    (error: Error) => process.send!({ id: request.id, error: error.stack ?? error.message } satisfies Reply, then)
  )
})
