import { createHash } from 'node:crypto'
import { createClient, createCluster, ErrorReply, TimeoutError } from '@redis/client'

/** A Lua script, sent by its SHA once Redis has it. */
export interface Script {
  readonly text: string
  readonly sha: string
}

/**
 * What the Redis engine needs of Redis, whether one server or a Redis Cluster: script
 * runs, and publishing and listening on channels. On a cluster every key and channel
 * of the engine shares one hash slot (its prefix is a hash tag), so that scripts may
 * touch any of them, and channels are sharded (SPUBLISH, SSUBSCRIBE).
 */
export interface RedisConnection {
  /** Connected, and commands can be sent. */
  readonly ready: boolean
  connect (): Promise<void>
  /** Runs `script` with `args`; `key` (any key of the engine) says which shard runs it. */
  run (script: Script, key: string, args: string[]): Promise<unknown>
  publish (channel: string, message: string): Promise<unknown>
  subscribe (channel: string, listener: (message: string) => void): Promise<unknown>
  /**
   * Calls `listener` each time a connection (on a cluster, one to some shard) is ready,
   * its subscriptions back: after it dropped, what was published meanwhile is lost.
   */
  onReady (listener: () => void): void
  destroy (): void
}

export interface RedisEndpoint {
  readonly url: string
  readonly cluster: boolean
  /** ms a script run may wait for its reply before it fails (isTimeout). */
  readonly commandTimeout: number
}

/**
 * A connection for commands and one for listening. Without an offline queue,
 * commands fail at once while Redis is away: memory stays bounded and publishes get
 * an error instead of waiting.
 */
export function connectRedis ({ url, cluster, commandTimeout }: RedisEndpoint): { commands: RedisConnection, listener: RedisConnection } {
  const commands = cluster ? newCluster(url, commandTimeout) : newClient(url, commandTimeout)
  return { commands: connection(commands, cluster, commandTimeout), listener: connection(commands.duplicate(), cluster, commandTimeout) }
}

function newClient (url: string, timeout: number) {
  return createClient({ url, disableOfflineQueue: true, commandOptions: { timeout } })
}

function newCluster (url: string, timeout: number) {
  return createCluster({ rootNodes: [{ url }], defaults: { disableOfflineQueue: true }, commandOptions: { timeout } })
}

/** The script as a Redis Cluster runs it: channels sharded. */
export function script (text: string, { cluster }: { cluster: boolean }): Script {
  const adapted = cluster ? text.replaceAll("'PUBLISH'", "'SPUBLISH'").replaceAll("'NUMSUB'", "'SHARDNUMSUB'") : text
  return { text: adapted, sha: createHash('sha1').update(adapted).digest('hex') }
}

/** A reply of Redis itself (a script error): Redis is there, the fault is ours. */
export function isReply (error: unknown): boolean {
  return error instanceof ErrorReply
}

/**
 * A script run whose reply did not come within the command timeout. node-redis's own
 * timeout only covers the wait before a command is written: one written to a Redis that
 * hangs behind its open socket would wait for its reply for ever.
 */
class ReplyTimeout extends Error {}

/** No reply within the command timeout: Redis may still run the command, or have run it. */
export function isTimeout (error: unknown): boolean {
  return error instanceof TimeoutError || error instanceof ReplyTimeout
}

/** EVALSHA, then EVAL (which also caches the script) when this server has not seen it yet or restarted. */
async function evaluate (client: Client, script: Script, options: { keys: string[], arguments: string[] }): Promise<unknown> {
  try {
    return await client.evalSha(script.sha, options)
  } catch (error) {
    if (!(error instanceof ErrorReply) || !error.message.startsWith('NOSCRIPT')) throw error
    return await client.eval(script.text, options)
  }
}

/** What the engine uses of a node-redis client or cluster, which name these alike. */
type Client = ReturnType<typeof newClient> | ReturnType<typeof newCluster>

/** `client` as a RedisConnection; on a cluster, channels are sharded. */
function connection (client: Client, sharded: boolean, timeout: number): RedisConnection {
  // Errors also come as events; the engine learns of outages from failed commands.
  client.on('error', () => {})
  return {
    get ready () { return client.isReady },
    connect: async () => { await client.connect() },
    run: async (script, key, args) => {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new ReplyTimeout(`no reply in ${timeout} ms`)), timeout).unref()
      })
      try {
        return await Promise.race([evaluate(client, script, { keys: [key], arguments: args }), late])
      } finally {
        clearTimeout(timer)
      }
    },
    publish: (channel, message) => sharded ? client.sPublish(channel, message) : client.publish(channel, message),
    subscribe: (channel, listener) => sharded ? client.sSubscribe(channel, listener) : client.subscribe(channel, listener),
    // node-redis resubscribes before it says a connection is ready.
    onReady: listener => { sharded ? client.on('node-ready', listener) : client.on('ready', listener) },
    destroy: () => client.destroy()
  }
}

/** Hash slots of a Redis Cluster. */
const SLOTS = 16384

/** The hash slot of a key whose hash tag is `tag` (CRC16/XMODEM, as Redis Cluster computes it). */
export function slotOf (tag: string): number {
  let crc = 0
  for (const byte of Buffer.from(tag)) {
    crc ^= byte << 8
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc % SLOTS
}

/**
 * The key prefix of each bus: on one Redis, `prefix` alone; on a cluster, a hash tag
 * per bus, the first of `prefix`, `prefix1`, `prefix2`… whose slot is in the bus's
 * share of the slots (bus i of n: the i-th n-th). Every node computes the same tags, and
 * a cluster whose slots are split evenly over n masters, as `redis-cli --cluster
 * create` splits them, has one bus on each.
 */
export function busPrefixes (prefix: string, buses: number, cluster: boolean): string[] {
  if (!cluster) return [prefix]
  return Array.from({ length: buses }, (_, bus) => {
    const [from, to] = [Math.ceil(bus * SLOTS / buses), Math.ceil((bus + 1) * SLOTS / buses)]
    for (let n = 0; ; n++) {
      const tag = n === 0 ? prefix : `${prefix}${n}`
      const slot = slotOf(tag)
      if (slot >= from && slot < to) return `{${tag}}`
    }
  })
}
