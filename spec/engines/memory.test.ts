import t from 'tap'
import { MemoryEngine } from '../../lib/engines/memory.ts'
import { engineContract, historyHost, record } from './contract.ts'

engineContract(t, () => new MemoryEngine())

t.test('history: a restarted process, its history gone, issues ids above every one issued before', async t => {
  const limits = { size: 10, ttl: 60_000 }
  const before = new MemoryEngine()
  before.start(historyHost(limits))
  for (const data of [1, 2, 3]) await record(before, '/h/a', data)
  const issued = before.history('/h/a', undefined, 10)!.map(event => event.replayId!)
  before.close()
  // A restart takes longer than the ids ran ahead of the clock (here: three within a millisecond).
  while (Date.now() * 1000 <= issued.at(-1)!) await new Promise(resolve => setImmediate(resolve))
  const after = new MemoryEngine()
  after.start(historyHost(limits))
  t.teardown(() => after.close())
  await record(after, '/h/a', 4)
  const [next] = after.history('/h/a', undefined, 10)!
  t.ok(next!.replayId! > issued.at(-1)!, `${next!.replayId} after ${issued.join(', ')}`)
  t.equal(after.history('/h/a', issued[1], 10), undefined, 'resuming from an id of before is refused: what followed it is gone')
})

t.test('history: a channel whose events all expired is forgotten by the next sweep', async t => {
  const engine = new MemoryEngine()
  t.teardown(() => engine.close())
  engine.start(historyHost({ size: 10, ttl: 50 }))
  await record(engine, '/h/quiet', 1)
  const [event] = engine.history('/h/quiet', undefined, 10)!
  const id = event!.replayId!
  t.same(engine.history('/h/quiet', id, 10), [], 'resuming from the latest: nothing missing')
  for (let i = 0; i < 300 && engine.history('/h/quiet', id, 10) !== undefined; i++) await new Promise(resolve => setTimeout(resolve, 10))
  t.equal(engine.history('/h/quiet', id, 10), undefined, 'swept: the channel, its latest id with it, is forgotten')
  t.same(engine.history('/h/quiet', undefined, 10), [])
})

t.test('history: a ring grows as events come, up to the size, oldest dropped first', async t => {
  const engine = new MemoryEngine()
  t.teardown(() => engine.close())
  engine.start(historyHost({ size: 40, ttl: 60_000 }))
  for (let i = 1; i <= 50; i++) await record(engine, '/h/a', i)
  const kept = engine.history('/h/a', undefined, 100)!
  t.same(kept.map(event => (event.message as { data: unknown }).data), Array.from({ length: 40 }, (_, i) => i + 11))
  t.same(engine.history('/h/a', kept[19]!.replayId, 100)!.length, 20, 'reads after an id find it across the ring\'s wrap')
})
