import { heapSnapshotNodeArgs } from './heap-snapshots.ts'

/**
 * Extra Node flags for the processes the runner starts, e.g. to profile them:
 *   BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench -- ...
 * BENCH_AGENT_NODE_ARGS does the same for the load-generating agents.
 */
export function extraNodeArgs (role: 'server' | 'agent'): string[] {
  const value = process.env[role === 'server' ? 'BENCH_SERVER_NODE_ARGS' : 'BENCH_AGENT_NODE_ARGS'] ?? ''
  const given = value.split(' ').filter((arg) => arg !== '')
  return role === 'server' ? [...given, ...heapSnapshotNodeArgs()] : given
}
