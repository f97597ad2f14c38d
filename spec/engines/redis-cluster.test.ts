/**
 * The Redis engine on a three-master Redis Cluster (sharded channels, every key of the
 * engine in one hash slot) passes the same contract kit as on one Redis, multi-node
 * part included.
 */
import t from 'tap'
import { RedisEngine } from '../../lib/engines/redis.ts'
import { requireRedisBinaries } from '../support/redis.ts'
import { RedisCluster } from '../support/redis-cluster.ts'
import { engineContract } from './contract.ts'

if (requireRedisBinaries(t)) {
  const cluster = await RedisCluster.start(t)
  // Each node is given a different master to start from: they find the rest themselves.
  let next = 0
  engineContract(t, prefix => new RedisEngine({ url: cluster.nodes[next++ % cluster.nodes.length]!.url, prefix: `${prefix}:`, cluster: true }), { nodes: true })
}
