import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'

/** Where a multi-node server keeps its shared state, and the key prefix (namespace) it owns there. */
export interface RedisTarget {
  url: string
  prefix: string
}

/** The command line every reference server entry point accepts (the same flags as bin/bayeux-server). */
export function serverArgs (): { host: string, port: number, timeoutMs: number, maxIntervalMs: number, redis: RedisTarget | undefined } {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      timeout: { type: 'string', default: '30000' },
      'max-interval': { type: 'string', default: '10000' },
      redis: { type: 'string' },
      'redis-prefix': { type: 'string', default: 'bayeux:' }
    }
  })
  const redis = values.redis === undefined ? undefined : { url: values.redis, prefix: values['redis-prefix'] }
  return { host: values.host, port: Number(values.port), timeoutMs: Number(values.timeout), maxIntervalMs: Number(values['max-interval']), redis }
}

/** Prints the line the runner waits for once the server accepts connections. */
export function announce (server: Server): void {
  // A clean exit on SIGTERM lets --cpu-prof (BENCH_SERVER_NODE_ARGS) write its profile.
  process.once('SIGTERM', () => process.exit(0))
  const { address, port } = server.address() as AddressInfo
  console.log(`listening on http://${address}:${port}/cometd`)
}
