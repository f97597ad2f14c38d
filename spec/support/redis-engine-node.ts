/**
 * A Redis engine node in a process of its own, that a test can stop (SIGSTOP) to make
 * it busy without holding the test's own event loop:
 *   node --import=tsx spec/support/redis-engine-node.ts <redis url> <prefix> <options JSON> <session> <pattern>
 * It creates `session`, subscribed to `pattern`, and prints `ready <node id>`, then
 * `queued <n>` each time an event reaches the session. Its host queues the session's
 * events and hands them over when another node claims it.
 */
import { RedisEngine } from '../../lib/engines/redis.ts'
import type { OutgoingEvent } from '../../lib/protocol/outgoing-event.ts'
import { historyHost } from '../engines/contract.ts'

const [url, prefix, options, session, pattern] = process.argv.slice(2) as [string, string, string, string, string]
const engine = new RedisEngine({ url, prefix, ...JSON.parse(options) as object })
const queued: OutgoingEvent[] = []
await engine.start({
  ...historyHost({ size: 0, ttl: 0 }),
  deliver: (id, event) => {
    if (id !== session) return
    queued.push(event)
    console.log(`queued ${queued.length}`)
  },
  release: id => id === session ? { queued: queued.splice(0), connected: true, transport: 'long-polling', attributes: { from: 'the stopped node' } } : undefined
})
await engine.createSession(session, { ack: false })
await engine.subscribe(session, pattern)
console.log(`ready ${engine.node}`)
process.on('SIGTERM', () => { engine.close().finally(() => process.exit(0)) })
