/**
 * Redis engine nodes for tests of moves (spec/engines/redis*.test.ts): nodes of the
 * test's process that keep a queue per session, and nodes in a process of their own.
 */
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import type { ClaimedSession, EngineHost } from '../../lib/engines/engine.ts'
import { RedisEngine } from '../../lib/engines/redis.ts'
import type { RedisEngineOptions } from '../../lib/engines/redis.ts'
import type { OutgoingEvent } from '../../lib/protocol/outgoing-event.ts'
import { delay } from '../helpers.ts'
import { REDIS_URL } from '../support/redis.ts'
import { printed, startDaemon } from '../support/services.ts'
import { historyHost } from './contract.ts'

/** A node of the test's process whose host keeps a queue per session it holds, and hands it over. */
export async function queueNode (t: Test, options: RedisEngineOptions, host: Partial<EngineHost> = {}): Promise<{ engine: RedisEngine, queues: Map<string, OutgoingEvent[]>, claim: (id: string) => Promise<ClaimedSession | undefined> }> {
  const queues = new Map<string, OutgoingEvent[]>()
  const engine = new RedisEngine(options)
  await engine.start({
    ...historyHost({ size: 0, ttl: 0 }),
    deliver: (id, event) => queues.get(id)?.push(event),
    release: id => {
      const queued = queues.get(id)
      queues.delete(id)
      return queued && { queued, connected: true, transport: 'long-polling', attributes: {} }
    },
    ...host
  })
  t.teardown(() => engine.close())
  // As the server does: the session is made here from what the claim brought, before any macrotask.
  const claim = async (id: string): Promise<ClaimedSession | undefined> => {
    const claimed = await engine.claim(id, { socket: false })
    if (claimed !== undefined) queues.set(id, [...claimed.state?.queued ?? []])
    return claimed
  }
  return { engine, queues, claim }
}

/**
 * A node in a process of its own (spec/support/redis-engine-node.ts) holding session
 * `s`, subscribed to `/h`: SIGSTOP makes it busy without holding the test's event loop.
 * `options.url` (default REDIS_URL) is the Redis it uses.
 */
export async function stoppableNode (t: Test, options: RedisEngineOptions & { prefix: string }) {
  const script = fileURLToPath(new URL('../support/redis-engine-node.ts', import.meta.url))
  const { prefix, ...rest } = options
  const daemon = await startDaemon(process.execPath, ['--import=tsx', script, options.url ?? REDIS_URL, prefix, JSON.stringify(rest), 's', '/h'], process.cwd(), daemon => printed(daemon, /ready [0-9a-f]+/))
  t.teardown(() => daemon.stop('SIGKILL'))
  return {
    node: /ready ([0-9a-f]+)/.exec(daemon.output())![1]!,
    kill: async () => { await daemon.stop('SIGKILL') },
    stop: () => daemon.child.kill('SIGSTOP'),
    resume: () => daemon.child.kill('SIGCONT'),
    queued: async (n: number) => { for (let i = 0; i < 400 && !daemon.output().includes(`queued ${n}\n`); i++) await delay(10) }
  }
}

export function dataOf (events: readonly OutgoingEvent[] | undefined): unknown[] {
  return (events ?? []).map(event => (event.message as { data: unknown }).data)
}
