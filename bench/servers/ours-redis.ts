// bayeux-server on its Redis engine through the public API (createServer with a RedisEngine),
// as bin/bayeux-server would run it with --redis and --redis-prefix. Only for builds whose CLI
// does not have those flags yet: catalog.ts starts bin/bayeux-server itself once it has them.
import { createServer, RedisEngine } from '../../dist/index.js'
import { serverArgs } from './server-args.ts'

const { host, port, timeoutMs, redis } = serverArgs()
if (redis === undefined) throw new Error('ours-redis.ts needs --redis <url>')
const server = await createServer({
  host,
  port,
  timeout: timeoutMs,
  logger: { level: 'warn' },
  engine: new RedisEngine({ url: redis.url, prefix: redis.prefix })
})
console.log(`listening on ${server.url}`)
// What bin/bayeux-server does on SIGTERM: drain, then close (and let --cpu-prof write its profile).
process.once('SIGTERM', () => {
  server.shutdown().then(() => process.exit(0), () => process.exit(1))
})
