import t from 'tap'
import { RedisEngine } from '../../lib/engines/redis.ts'
import { REDIS_URL, requireRedis, testPrefix } from '../support/redis.ts'
import { engineContract } from './contract.ts'

if (await requireRedis(t)) {
  const prefix = testPrefix(t)
  engineContract(t, cluster => new RedisEngine({ url: REDIS_URL, prefix: `${prefix}${cluster}:` }), { nodes: true })
}
