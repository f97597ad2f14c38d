/**
 * Redis for tests. The shared server (127.0.0.1:6379, or `REDIS_URL`) is one for every
 * test file running at once, and for other work on the machine: each test writes under
 * a key prefix of its own (`testPrefix`), whose keys are deleted when the test ends, and
 * no test stops, flushes or reconfigures it. A test that takes Redis away (an outage)
 * runs its own `ThrowawayRedis` instead.
 */
import { createClient } from '@redis/client'
import { randomBytes } from 'node:crypto'
import type { Daemon, Skippable, Teardown } from './services.ts'
import { freePort, need, onFreePorts, printed, runs, startDaemon, tempDir } from './services.ts'

export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379'

/** A client of `url` that reports its errors through its commands alone. */
function newClient (url: string, reconnect = true) {
  const client = createClient({ url, socket: reconnect ? {} : { connectTimeout: 2_000, reconnectStrategy: false } })
  // Without a listener an 'error' event (a dropped connection) would end the test process.
  client.on('error', () => {})
  return client
}

export type Redis = ReturnType<typeof newClient>

/** A client that fails at once instead of retrying, for a server that may not be there. */
function quickClient (url: string): Redis {
  return newClient(url, false)
}

/** Whether a Redis at `url` answers PING. */
export async function redisAnswers (url = REDIS_URL): Promise<boolean> {
  const client = quickClient(url)
  try {
    await client.connect()
    return await client.ping() === 'PONG'
  } catch {
    return false
  } finally {
    client.destroy()
  }
}

/**
 * Whether the shared Redis answers; when it does not, ends `t`: skipped, or failed under
 * `CI=true`. Call it first: `if (!await requireRedis(t)) return`.
 */
export async function requireRedis (t: Skippable, url = REDIS_URL): Promise<boolean> {
  return need(t, await redisAnswers(url) ? undefined : `no Redis answers at ${url} (start one, or set REDIS_URL)`)
}

/**
 * Whether `redis-server` and `redis-cli` run, as `ThrowawayRedis` and `RedisCluster`
 * need; when they do not, ends `t` as `requireRedis` does.
 */
export function requireRedisBinaries (t: Skippable): boolean {
  const missing = ['redis-server', 'redis-cli'].filter(command => !runs(command, ['--version']))
  return need(t, missing.length === 0 ? undefined : `${missing.join(' and ')} not found (Debian: apt-get install redis-server)`)
}

/** A client of `url` (the shared Redis by default), connected; closed when `t` ends. */
export async function connectRedis (t: Teardown, url = REDIS_URL): Promise<Redis> {
  const client = newClient(url)
  await client.connect()
  t.teardown(() => client.destroy())
  return client
}

/**
 * A key prefix no other test uses, `bayeux-test:<random>:`; every key under it in the
 * Redis at `url` is deleted when `t` ends. tap runs teardowns last-in first-out: take
 * the prefix before starting the nodes that write under it, so that they are gone first.
 */
export function testPrefix (t: Teardown, url = REDIS_URL): string {
  const prefix = `bayeux-test:${randomBytes(6).toString('hex')}:`
  t.teardown(() => deleteUnder(prefix, url))
  return prefix
}

/** `text` as a SCAN MATCH pattern that matches only itself. */
function literal (text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}

/** Every key under `prefix`, by SCAN (never KEYS, which blocks a shared server). */
export async function keysUnder (prefix: string, url = REDIS_URL): Promise<string[]> {
  const client = quickClient(url)
  await client.connect()
  try {
    const keys: string[] = []
    for await (const batch of client.scanIterator({ MATCH: `${literal(prefix)}*`, COUNT: 1_000 })) keys.push(...batch)
    return [...new Set(keys)].sort()
  } finally {
    client.destroy()
  }
}

/**
 * What the Redis engine left under `prefix` once every session is gone, waiting up to
 * 10 s for sessions to end: every key but the two that are not a session's and expire
 * by themselves (`nodes`, the live nodes; `log`, recent publishes), which count as left
 * if they carry no TTL. Empty when nothing leaks.
 */
export async function leftoverKeys (prefix: string, url = REDIS_URL): Promise<string[]> {
  const client = quickClient(url)
  await client.connect()
  try {
    let left: string[] = []
    for (let i = 0; i < 100; i++) {
      left = []
      for (const key of await keysUnder(prefix, url)) {
        const expiring = key === `${prefix}nodes` || key === `${prefix}log`
        if (!expiring || await client.pTTL(key) < 0) left.push(key)
      }
      if (left.length === 0) break
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    return left
  } finally {
    client.destroy()
  }
}

/** Deletes every key under `prefix`; resolves to how many there were. */
export async function deleteUnder (prefix: string, url = REDIS_URL): Promise<number> {
  const keys = await keysUnder(prefix, url)
  if (keys.length === 0) return 0
  const client = quickClient(url)
  await client.connect()
  try {
    for (let i = 0; i < keys.length; i += 500) await client.unlink(keys.slice(i, i + 500))
  } finally {
    client.destroy()
  }
  return keys.length
}

/** The arguments of a `redis-server` serving `port` on 127.0.0.1 from `dir`, keeping nothing on disk. */
export function redisServerArgs (port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', '', '--daemonize', 'no']
}

/** Starts `redis-server` with `args` in `dir`; resolves once it accepts connections. */
export async function startRedisServer (args: string[], dir: string): Promise<Daemon> {
  return await startDaemon('redis-server', args, dir, daemon => printed(daemon, /Ready to accept connections/))
}

/**
 * A `redis-server` of the test's own, on a free loopback port and in a temporary
 * directory, for outages: `kill()` it (SIGKILL, as a crash), then `restart()` it, empty,
 * on the same port, where clients reconnect. Killed and removed when the test ends.
 */
export class ThrowawayRedis {
  readonly port: number
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string
  readonly #dir: string
  readonly #args: string[]
  #daemon: Daemon | undefined

  private constructor (port: number, dir: string, args: string[], daemon: Daemon) {
    this.port = port
    this.url = `redis://127.0.0.1:${port}`
    this.#dir = dir
    this.#args = args
    this.#daemon = daemon
  }

  /** Starts one; `args` go after the defaults (a later setting wins). */
  static async start (t: Teardown, args: string[] = []): Promise<ThrowawayRedis> {
    const dir = await tempDir(t, 'bayeux-redis', { inMemory: true })
    const redis = await onFreePorts(async () => {
      const port = await freePort()
      const all = [...redisServerArgs(port, dir), ...args]
      return new ThrowawayRedis(port, dir, all, await startRedisServer(all, dir))
    })
    // tap runs teardowns last-in first-out: the process dies before its directory goes.
    t.teardown(() => redis.kill())
    return redis
  }

  get running (): boolean {
    return this.#daemon !== undefined
  }

  /** Everything the current (or last) process printed. */
  output (): string {
    return this.#daemon?.output() ?? ''
  }

  /** SIGKILL, as a crash: no shutdown, connections dropped. Resolves once it is gone. */
  async kill (): Promise<void> {
    const daemon = this.#daemon
    this.#daemon = undefined
    await daemon?.stop('SIGKILL')
  }

  /** SIGSTOP: Redis hangs behind its open sockets, as a stalled server does, until `resume()`. */
  pause (): void {
    this.#daemon?.child.kill('SIGSTOP')
  }

  /** SIGCONT, after `pause()`. */
  resume (): void {
    this.#daemon?.child.kill('SIGCONT')
  }

  /** Starts it again, empty, on the same port. */
  async restart (): Promise<void> {
    if (this.#daemon !== undefined) throw new Error('ThrowawayRedis.restart: still running; kill() it first')
    this.#daemon = await startRedisServer(this.#args, this.#dir)
  }
}
