import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Transport } from '../loadgen/protocol.ts'
import type { RedisTarget } from './server-args.ts'

export type ServerName = 'ours' | 'ours-metrics' | 'ours-history' | 'ours-redis' | 'ours-workers' | 'baseline' | 'faye' | 'faye-redis' | 'cometd' | 'raw-ws' | 'raw-http'

export interface ServerDefinition {
  name: ServerName
  label: string
  transports: Transport[]
  /**
   * Whether its processes share their state through Redis, so that it can run as several nodes
   * (each started with the URL and a key prefix of its own, see RedisTarget).
   */
  redis: boolean
  /** The checkout whose dist/ it runs: ours, and the baseline. */
  checkout?: string
  /** Why it cannot run here, or undefined when it can. */
  unavailable(): string | undefined
  /** Node arguments that start one process of it on an OS-chosen loopback port. */
  nodeArgs(timeoutMs: number, redis: RedisTarget | undefined): string[]
}

const REPO = fileURLToPath(new URL('../../', import.meta.url))
/**
 * Another build of this server, to measure an optimisation before and after in one run:
 * BENCH_BASELINE=<checkout of the older commit, with dist/ built> (e.g. a git worktree).
 */
const BASELINE = process.env.BENCH_BASELINE
/**
 * How long a server keeps a session without a connect, where it lets us choose. Every generated
 * client shares one core: after a broadcast to 10,000 long-polls, that core (and the server's)
 * may take longer than the usual 10 s to read the replies and send the next connects, and
 * sessions expiring meanwhile would lose every later delivery (bench/README.md). Faye keeps a
 * session 2 × timeout (60 s here), faye-redis 1.6 × timeout.
 */
const SESSION_EXPIRY_MS = 60_000
/** Worker processes of `ours-workers` (BENCH_WORKERS, default 4). */
const WORKERS = Number(process.env.BENCH_WORKERS ?? 4)

function script (name: string): string {
  return fileURLToPath(new URL(`./${name}.ts`, import.meta.url))
}

const redisFlags = (redis: RedisTarget | undefined): string[] => (redis === undefined ? [] : ['--redis', redis.url, '--redis-prefix', redis.prefix])

/** bin/bayeux-server of the checkout at `root`, run from its built dist/, with `flags` added. */
function ourServer (name: ServerName, label: string, root: string | undefined, flags: string[] = [], redis = false): ServerDefinition {
  const bin = `${root}/bin/bayeux-server`
  return {
    name,
    label,
    transports: ['ws', 'lp'],
    redis,
    ...(root !== undefined && { checkout: root }),
    unavailable: () =>
      root === undefined ? 'set BENCH_BASELINE to a checkout of the commit to compare with' : !existsSync(bin) ? `${bin} does not exist yet` : !existsSync(`${root}/dist/index.js`) ? `${root}/dist/ is not built (npm run build)` : undefined,
    nodeArgs: (timeoutMs, target) => [bin, '--host', '127.0.0.1', '--port', '0', '--timeout', String(timeoutMs), '--max-interval', String(SESSION_EXPIRY_MS), '--log-level', 'warn', ...flags, ...redisFlags(target)]
  }
}

function referenceServer (name: ServerName, label: string, transports: Transport[], redis = false): ServerDefinition {
  return {
    name,
    label,
    transports,
    redis,
    unavailable: () => undefined,
    nodeArgs: (timeoutMs, target) => ['--import=tsx', script(name), '--port', '0', '--timeout', String(timeoutMs), '--max-interval', String(SESSION_EXPIRY_MS), ...redisFlags(target)]
  }
}

export const SERVERS: Record<ServerName, ServerDefinition> = {
  ours: ourServer('ours', 'bayeux-server', REPO),
  // What metrics cost on the hot path: the same build, with the diagnostics subscribers of --metrics.
  'ours-metrics': ourServer('ours-metrics', 'bayeux-server --metrics', REPO, ['--metrics']),
  // What history costs on the publish path (issue 11): every channel's events kept.
  'ours-history': ourServer('ours-history', 'bayeux-server --history /**', REPO, ['--history', '/**']),
  // Every node a bin/bayeux-server process, sharing sessions and subscriptions through Redis.
  'ours-redis': ourServer('ours-redis', 'bayeux-server on Redis', REPO, [], true),
  // One port, WORKERS node:cluster workers sharing through Redis: the way one machine's cores are used.
  'ours-workers': ourServer('ours-workers', `bayeux-server --workers ${WORKERS} on Redis`, REPO, ['--workers', String(WORKERS)], true),
  baseline: ourServer('baseline', `bayeux-server baseline (${BASELINE ?? 'BENCH_BASELINE unset'})`, BASELINE),
  faye: referenceServer('faye', 'Faye 1.4', ['ws', 'lp']),
  'faye-redis': referenceServer('faye-redis', 'Faye 1.4 + faye-redis 0.2', ['ws', 'lp'], true),
  cometd: referenceServer('cometd', 'cometd-nodejs-server 1.2', ['lp']),
  'raw-ws': referenceServer('raw-ws', 'raw ws (limit)', ['ws']),
  'raw-http': referenceServer('raw-http', 'raw http (limit)', ['lp'])
}

const TSC = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url))
/** Checkouts compiled by this process already. */
const compiled = new Set<string>()

/**
 * Compiles the checkouts that `names` run from, so that a benchmark never measures a dist/
 * older than its lib/ (a reverted experiment, say, still built). tsc is incremental: a
 * checkout that is up to date costs a few seconds, and nothing in dist/ is rewritten.
 */
export function compileCheckouts (names: readonly ServerName[]): void {
  for (const name of names) {
    const root = SERVERS[name].checkout
    if (root === undefined || compiled.has(root) || !existsSync(`${root}/tsconfig.json`)) continue
    execFileSync(process.execPath, [TSC, '-p', `${root}/tsconfig.json`], { stdio: 'inherit' })
    compiled.add(root)
  }
}
