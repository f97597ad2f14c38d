import t from 'tap'
import { TokenBucket } from '../../lib/server/limiter.ts'
import { delay } from '../helpers.ts'

/** How many of `tries` back-to-back takes succeed. */
const takes = (bucket: TokenBucket, tries: number) => Array.from({ length: tries }, () => bucket.take()).filter(Boolean).length

t.test('a full bucket allows a burst, then refuses', async t => {
  // One token per 10 s: nothing refills while the test runs.
  const bucket = new TokenBucket(0.1, 5)
  t.equal(takes(bucket, 5), 5, 'the whole burst is available at once')
  t.equal(bucket.take(), false, 'then the bucket is empty')
  t.equal(bucket.take(), false, 'and stays empty')
})

t.test('tokens refill over time', async t => {
  // 5/s: one token per 200 ms, so the bucket is still empty right after the burst even if
  // this process is paused a while between two takes (at 100/s, 10 ms of pause refilled it).
  const bucket = new TokenBucket(5, 2)
  t.equal(takes(bucket, 2), 2)
  t.equal(bucket.take(), false)
  // Wait far longer than one token takes, then only claim that one came back.
  await delay(600)
  t.ok(bucket.take(), 'at least one token after a generous wait')
})

t.test('a long idle refills to the burst, not beyond', async t => {
  const bucket = new TokenBucket(20, 2)
  takes(bucket, 2)
  // 600 ms at 20/s would be 12 tokens without the cap.
  await delay(600)
  const granted = takes(bucket, 20)
  t.ok(granted >= 2, 'the burst is available again')
  t.ok(granted < 12, `capped at the burst (got ${granted})`)
})

t.test('refused takes do not consume or borrow', async t => {
  const bucket = new TokenBucket(100, 1)
  t.ok(bucket.take())
  for (let i = 0; i < 1000; i++) bucket.take()
  await delay(200)
  t.ok(bucket.take(), 'hammering an empty bucket does not push it into debt')
})
