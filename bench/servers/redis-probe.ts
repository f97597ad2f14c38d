// The Redis that multi-node servers share, seen from the runner: its own CPU time (from /proc,
// when it runs on this machine), how many commands it has executed (INFO commandstats), and
// the removal of what a server kind left under its key prefix.
import { existsSync, readFileSync } from 'node:fs'
import { createClient } from '@redis/client'
import { sampleProcess } from '../os/proc-stats.ts'

export interface RedisSample {
  /** Commands executed by anyone since Redis started, less the probe's own INFO calls. */
  commands: number
  /** The same by command name (`evalsha`, `rpush`, …), the probe's INFO calls left in. */
  byCommand: Map<string, number>
  /** User + system CPU of the redis-server process; undefined when it is not on this machine. */
  cpuMicros: number | undefined
}

/** Calls per command, from `cmdstat_<name>:calls=<n>,...` lines. */
function callsByCommand (commandstats: string): Map<string, number> {
  return new Map([...commandstats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((match) => [match[1]!, Number(match[2])]))
}

/** SCAN's MATCH is a glob: a prefix containing *, ?, [ or \ must not act as one. */
function globPrefix (prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, (char) => `\\${char}`)}*`
}

function redisClient (url: string) {
  return createClient({ url, socket: { connectTimeout: 2000, reconnectStrategy: false } })
}
type RedisClient = ReturnType<typeof redisClient>

export class RedisProbe {
  readonly url: string
  readonly version: string
  readonly #client: RedisClient
  readonly #pid: number | undefined
  /** INFO commandstats counts a call once it has returned, so each sample sees the previous ones. */
  #ownInfoCalls = 0

  private constructor (url: string, version: string, client: RedisClient, pid: number | undefined) {
    this.url = url
    this.version = version
    this.#client = client
    this.#pid = pid
  }

  /** Connects, or says why it cannot (the error's message). */
  static async connect (url: string): Promise<RedisProbe> {
    const client = redisClient(url)
    client.on('error', () => {}) // a failed connect rejects connect(); later errors reject the command
    await client.connect()
    const server = await client.info('server')
    const pid = Number(/^process_id:(\d+)/m.exec(server)?.[1])
    // Only a redis-server on this machine (same pid namespace) has its CPU time in our /proc.
    const local = Number.isInteger(pid) && existsSync(`/proc/${pid}/stat`) && readFileSync(`/proc/${pid}/stat`, 'utf8').includes('(redis-server)')
    return new RedisProbe(url, /^redis_version:(\S+)/m.exec(server)?.[1] ?? 'unknown', client, local ? pid : undefined)
  }

  /** Whether a Redis answers at `url`: a reason when not. */
  static async unreachable (url: string): Promise<string | undefined> {
    try {
      await (await RedisProbe.connect(url)).close()
      return undefined
    } catch (error) {
      return `no Redis at ${url} (${(error as Error).message})`
    }
  }

  /** The redis-server process whose CPU is measured, when it runs on this machine. */
  get pid (): number | undefined {
    return this.#pid
  }

  async sample (): Promise<RedisSample> {
    const byCommand = callsByCommand(await this.#client.info('commandstats'))
    const commands = [...byCommand.values()].reduce((sum, calls) => sum + calls, 0) - this.#ownInfoCalls
    this.#ownInfoCalls++
    return { commands, byCommand, cpuMicros: this.#pid === undefined ? undefined : sampleProcess(this.#pid).cpuMicros }
  }

  /** Deletes every key under `prefix`; returns how many there were. */
  async deleteKeys (prefix: string): Promise<number> {
    let deleted = 0
    for await (const keys of this.#client.scanIterator({ MATCH: globPrefix(prefix), COUNT: 1000 })) {
      if (keys.length > 0) deleted += await this.#client.unlink(keys)
    }
    return deleted
  }

  async close (): Promise<void> {
    await this.#client.close()
  }
}
