import t from 'tap'
import { SubscriptionSet } from '../../lib/server/subscription-set.ts'
import type { SubscriptionHolder } from '../../lib/server/subscription-set.ts'

/** What a Set holding the same members answers, for comparison. */
function asSeen (set: ReadonlySet<string>): unknown {
  const forEach: unknown[] = []
  set.forEach(function (this: unknown, value, key, owner) { forEach.push([value, key, owner === set, this]) }, 'this')
  return { size: set.size, values: [...set], keys: [...set.keys()], entries: [...set.entries()], forEach }
}

t.test('reads like a Set of the same members, with none, one and several', async t => {
  const subscriptions = new SubscriptionSet()
  const same = new Set<string>()
  const compare = (step: string): void => { t.same(asSeen(subscriptions), asSeen(same), step) }
  compare('none')
  t.equal(subscriptions.add('/a'), subscriptions, 'add returns the set')
  same.add('/a')
  compare('one')
  t.equal(subscriptions.has('/a'), true)
  t.equal(subscriptions.has('/b'), false)
  subscriptions.add('/a')
  compare('added twice, there once')
  subscriptions.add('/b').add('/c/*')
  same.add('/b').add('/c/*')
  compare('several')
  t.equal(subscriptions.delete('/b'), true)
  t.equal(subscriptions.delete('/b'), false, 'not there any more')
  same.delete('/b')
  compare('one removed')
  subscriptions.delete('/a')
  subscriptions.delete('/c/*')
  same.clear()
  compare('none again')
  t.equal(subscriptions.delete('/a'), false, 'nothing to remove')
  subscriptions.add('/d')
  t.equal(subscriptions.delete('/e'), false, 'another than the one there')
  t.same([...subscriptions], ['/d'])
})

t.test('sets made for one holder read and change the same members', async t => {
  const holder: SubscriptionHolder = { subscribed: undefined }
  new SubscriptionSet(holder).add('/a')
  const later = new SubscriptionSet(holder)
  t.equal(later.has('/a'), true, 'a set made later sees what an earlier one added')
  later.add('/b')
  t.same([...new SubscriptionSet(holder)], ['/a', '/b'])
  t.equal(new SubscriptionSet(holder).delete('/a'), true)
  t.same([...later], ['/b'])
})
