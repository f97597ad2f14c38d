// One node of a Faye 1.4 cluster: the same NodeAdapter as faye.ts, with faye-redis 0.2.0 as its
// engine, so that every node started with the same --redis and --redis-prefix shares clients,
// subscriptions and message queues through that Redis.
import { createServer } from 'node:http'
import faye from 'faye'
import fayeRedis from 'faye-redis'
import { announce, serverArgs } from './server-args.ts'

const { host, port, timeoutMs, redis } = serverArgs()
if (redis === undefined) throw new Error('faye-redis.ts needs --redis <url>')
const url = new URL(redis.url)
const database = Number(url.pathname.slice(1) || '0')
const adapter = new faye.NodeAdapter({
  mount: '/cometd',
  timeout: timeoutMs / 1000,
  engine: {
    type: fayeRedis,
    host: url.hostname,
    port: Number(url.port || '6379'),
    database,
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    namespace: redis.prefix
  }
})
const server = createServer()
adapter.attach(server)
server.listen(port, host, () => announce(server))
