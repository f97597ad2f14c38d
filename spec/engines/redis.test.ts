import t from 'tap'
import { RedisEngine } from '../../lib/engines/redis.ts'
import { REDIS_URL, requireRedis, testPrefix } from '../support/redis.ts'
import { engineContract } from './contract.ts'

t.test('options that cannot work are refused when the engine is made, before it connects', async t => {
  for (const url of ['127.0.0.1:6379', 'http://127.0.0.1:6379', 'redis://']) {
    t.throws(() => new RedisEngine({ url }), { code: 'BAYEUX_ERR_INVALID_OPTIONS', message: /url must be redis:/ }, url)
  }
  t.throws(() => new RedisEngine({ heartbeat: 2000, detection: 1000 }), { code: 'BAYEUX_ERR_INVALID_OPTIONS', message: /detection must be longer than heartbeat/ })
})

if (await requireRedis(t)) {
  const prefix = testPrefix(t)
  engineContract(t, cluster => new RedisEngine({ url: REDIS_URL, prefix: `${prefix}${cluster}:` }), { nodes: true })
}
