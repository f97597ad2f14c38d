import t from 'tap'
import { ChannelParser } from '../../lib/protocol/channel.ts'
import { PatternRegistry } from '../../lib/server/pattern-registry.ts'

const channels = new ChannelParser({ maxLength: 64, maxDepth: 8 })
const channel = (name: string) => channels.parse(name)!

t.test('items of the channel and of every matching wildcard, most specific first', async t => {
  const registry = new PatternRegistry<string>()
  registry.add('/**', 'all')
  registry.add('/a/*', 'a-one')
  registry.add('/a/b', 'exact')
  registry.add('/a/**', 'a-deep')
  registry.add('/x/*', 'elsewhere')
  t.same(registry.for(channel('/a/b')), ['exact', 'a-one', 'a-deep', 'all'])
  t.same(registry.for(channel('/a/b/c')), ['a-deep', 'all'], '* matches one segment only')
  t.equal(registry.size, 5)
})

t.test('adding and removing invalidate the cached lists', async t => {
  const registry = new PatternRegistry<string>()
  t.same(registry.for(channel('/a/b')), [])
  const remove = registry.add('/a/*', 'late')
  t.same(registry.for(channel('/a/b')), ['late'], 'an item added after a lookup is seen')
  remove()
  t.same(registry.for(channel('/a/b')), [], 'a removed item is gone')
  t.equal(registry.size, 0, 'an empty pattern is forgotten')
  remove()
  t.equal(registry.size, 0, 'removing twice is harmless')
})

t.test('the cache stays bounded under a flood of channel names', async t => {
  const registry = new PatternRegistry<string>(10)
  registry.add('/flood/*', 'x')
  for (let i = 0; i < 1000; i++) registry.for(channel(`/flood/${i}`))
  t.same(registry.for(channel('/flood/999')), ['x'])
})
