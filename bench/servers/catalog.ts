import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Transport } from '../loadgen/protocol.ts'

export type ServerName = 'ours' | 'ours-metrics' | 'baseline' | 'faye' | 'cometd' | 'raw-ws' | 'raw-http'

export interface ServerDefinition {
  name: ServerName
  label: string
  transports: Transport[]
  /** Why it cannot run here, or undefined when it can. */
  unavailable(): string | undefined
  /** Node arguments that start it on an OS-chosen loopback port. */
  nodeArgs(timeoutMs: number): string[]
}

const REPO = fileURLToPath(new URL('../../', import.meta.url))
/**
 * Another build of this server, to measure an optimisation before and after in one run:
 * BENCH_BASELINE=<checkout of the older commit, with dist/ built> (e.g. a git worktree).
 */
const BASELINE = process.env.BENCH_BASELINE

function script (name: string): string {
  return fileURLToPath(new URL(`./${name}.ts`, import.meta.url))
}

/** bin/bayeux-server of the checkout at `root`, run from its built dist/, with `flags` added. */
function ourServer (name: ServerName, label: string, root: string | undefined, flags: string[] = []): ServerDefinition {
  const bin = `${root}/bin/bayeux-server`
  return {
    name,
    label,
    transports: ['ws', 'lp'],
    unavailable: () =>
      root === undefined ? 'set BENCH_BASELINE to a checkout of the commit to compare with' : !existsSync(bin) ? `${bin} does not exist yet` : !existsSync(`${root}/dist/index.js`) ? `${root}/dist/ is not built (npm run build)` : undefined,
    nodeArgs: (timeoutMs) => [bin, '--host', '127.0.0.1', '--port', '0', '--timeout', String(timeoutMs), '--log-level', 'warn', ...flags]
  }
}

function referenceServer (name: ServerName, label: string, transports: Transport[]): ServerDefinition {
  return {
    name,
    label,
    transports,
    unavailable: () => undefined,
    nodeArgs: (timeoutMs) => ['--import=tsx', script(name), '--port', '0', '--timeout', String(timeoutMs)]
  }
}

export const SERVERS: Record<ServerName, ServerDefinition> = {
  ours: ourServer('ours', 'bayeux-server', REPO),
  // What metrics cost on the hot path: the same build, with the diagnostics subscribers of --metrics.
  'ours-metrics': ourServer('ours-metrics', 'bayeux-server --metrics', REPO, ['--metrics']),
  baseline: ourServer('baseline', `bayeux-server baseline (${BASELINE ?? 'BENCH_BASELINE unset'})`, BASELINE),
  faye: referenceServer('faye', 'Faye 1.4', ['ws', 'lp']),
  cometd: referenceServer('cometd', 'cometd-nodejs-server 1.2', ['lp']),
  'raw-ws': referenceServer('raw-ws', 'raw ws (limit)', ['ws']),
  'raw-http': referenceServer('raw-http', 'raw http (limit)', ['lp'])
}
