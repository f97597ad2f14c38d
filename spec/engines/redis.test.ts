import { randomBytes } from 'node:crypto'
import { createClient } from '@redis/client'
import t from 'tap'
import { RedisEngine } from '../../lib/engines/redis.ts'
import { engineContract } from './contract.ts'

const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379'
const prefix = `bayeux-test:${randomBytes(4).toString('hex')}:`
const redis = createClient({ url })
redis.on('error', () => {})
try {
  await redis.connect()
} catch (error) {
  if (process.env['CI'] === 'true') throw error
  t.plan(0, `no Redis at ${url}`)
}

if (redis.isReady) {
  t.teardown(async () => {
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}*` })) if (keys.length > 0) await redis.del(keys)
    redis.destroy()
  })
  engineContract(t, cluster => new RedisEngine({ url, prefix: `${prefix}${cluster}:` }), { nodes: true })
}
