import t from 'tap'
import type { Test } from 'tap'
import { TimerWheel } from '../../lib/server/timer-wheel.ts'
import { delay } from '../helpers.ts'

/** Polls `done` (bounded) so tests wait for firings without assuming how late they come. */
async function until (done: () => boolean, what: string): Promise<void> {
  for (let round = 0; round < 2_000; round++) {
    if (done()) return
    await delay(5)
  }
  throw new Error(`timed out waiting until ${what}`)
}

/** Busy-waits to early in a slot, so items scheduled next (same delay) share one slot. */
function earlyInSlot (resolution: number): void {
  for (let spins = 0; spins < 10_000_000; spins++) {
    const phase = Date.now() % resolution
    if (phase >= 1 && phase < resolution / 2) return
  }
}

/** A wheel whose firings are recorded with the time they happened. */
function recordingWheel (t: Test, resolution: number, then?: (item: string, wheel: TimerWheel<string>) => void) {
  const fired: Array<{ item: string, at: number }> = []
  const wheel: TimerWheel<string> = new TimerWheel<string>(resolution, item => {
    fired.push({ item, at: Date.now() })
    then?.(item, wheel)
  })
  t.teardown(() => wheel.clear())
  const count = (item: string) => fired.filter(f => f.item === item).length
  return { wheel, fired, count }
}

t.test('items never fire before their deadline, and fire once', async t => {
  const { wheel, fired, count } = recordingWheel(t, 5)
  const deadlines = new Map<string, number>()
  for (const delayMs of [0, 1, 4, 5, 6, 13, 40]) {
    deadlines.set(`d${delayMs}`, Date.now() + delayMs)
    wheel.schedule(`d${delayMs}`, delayMs)
  }
  t.equal(wheel.size, 7)
  await until(() => fired.length >= 7, 'all fired')
  for (const { item, at } of fired) t.ok(at >= deadlines.get(item)!, `${item} fired at or after its deadline`)
  await delay(60)
  for (const item of deadlines.keys()) t.equal(count(item), 1, `${item} fired once`)
  t.equal(wheel.size, 0)
})

t.test('cancel', async t => {
  const { wheel, count } = recordingWheel(t, 5)
  wheel.schedule('cancelled', 10)
  wheel.schedule('kept', 30)
  wheel.cancel('cancelled')
  wheel.cancel('never scheduled')
  t.equal(wheel.size, 1)
  await until(() => count('kept') === 1, 'kept fired')
  t.equal(count('cancelled'), 0, 'a cancelled item does not fire')
})

t.test('reschedule moves the deadline', async t => {
  const { wheel, fired } = recordingWheel(t, 5)
  // 300 ms apart, so that a busy machine pausing the test between two of these calls
  // cannot put 'sooner' after 'later'.
  wheel.schedule('later', 5)
  const deadline = Date.now() + 300
  wheel.schedule('later', 300)
  t.equal(wheel.size, 1, 'still one item')
  wheel.schedule('sooner', 300)
  wheel.schedule('sooner', 0)
  await until(() => fired.length >= 2, 'both fired')
  t.same(fired.map(f => f.item), ['sooner', 'later'])
  t.ok(fired[1]!.at >= deadline, 'the later deadline holds')
  await delay(30)
  t.equal(fired.length, 2, 'the replaced deadlines do not fire')
})

t.test('extend moves a deadline later, never sooner, and schedules an item that has none', async t => {
  const { wheel, fired } = recordingWheel(t, 5)
  wheel.schedule('later', 300)
  wheel.extend('later', 0)
  wheel.extend('fresh', 0)
  t.equal(wheel.size, 2)
  await until(() => fired.length >= 1, 'fresh fired')
  t.same(fired.map(f => f.item), ['fresh'], 'the earlier deadline was not taken')
  const extended = Date.now() + 400
  wheel.extend('later', 400)
  await until(() => fired.length >= 2, 'later fired')
  t.ok(fired[1]!.at >= extended, 'the later deadline was taken')
})

t.test('an item still fires when the clock moves to a later slot while it is scheduled', async t => {
  // A process paused inside schedule() (a GC pause, a busy machine) between reading the clock
  // for the item's deadline and for the wheel's first tick: the ticks must still reach its slot.
  const resolution = 5
  const { wheel, fired } = recordingWheel(t, resolution)
  const clock = Date.now
  const start = Math.floor(clock() / resolution) * resolution
  const readings = [start, start + resolution]
  Date.now = () => readings.shift() ?? clock()
  try {
    wheel.schedule('paused', 0)
  } finally {
    Date.now = clock
  }
  await until(() => fired.length === 1, 'the item fired')
})

t.test('reschedule from inside a firing callback', async t => {
  for (const again of [0, 1, 12]) {
    const deadlines: number[] = []
    const { wheel, fired } = recordingWheel(t, 5, (item, wheel) => {
      if (fired.length < 3) {
        deadlines.push(Date.now() + again)
        wheel.schedule(item, again)
      }
    })
    deadlines.push(Date.now())
    wheel.schedule('again', 0)
    await until(() => fired.length === 3, `rescheduled with ${again} ms fired three times`)
    fired.forEach(({ at }, i) => t.ok(at >= deadlines[i]!, `delay ${again}: firing ${i + 1} not early`))
    await delay(30)
    t.equal(fired.length, 3, `delay ${again}: no extra firing`)
  }
})

t.test('a callback may schedule another item for right now', async t => {
  const { wheel, count } = recordingWheel(t, 5, (item, wheel) => { if (item === 'first') wheel.schedule('second', 0) })
  wheel.schedule('first', 5)
  await until(() => count('second') === 1, 'second fired')
  t.equal(count('first'), 1)
})

t.test('a callback may cancel an item due in the same slot', async t => {
  const { wheel, fired } = recordingWheel(t, 50, (item, wheel) => wheel.cancel(item === 'a' ? 'b' : 'a'))
  earlyInSlot(50)
  wheel.schedule('a', 50)
  wheel.schedule('b', 50)
  await until(() => fired.length >= 1, 'one fired')
  await delay(120)
  t.equal(fired.length, 1, 'the other was cancelled and does not fire')
  t.equal(wheel.size, 0)
})

t.test('a callback may clear the wheel', async t => {
  const { wheel, fired } = recordingWheel(t, 50, (_, wheel) => wheel.clear())
  earlyInSlot(50)
  for (const item of ['a', 'b', 'c']) wheel.schedule(item, 50)
  wheel.schedule('later', 150)
  await until(() => fired.length >= 1, 'one fired')
  await delay(250)
  t.equal(fired.length, 1, 'cleared items do not fire')
})

t.test('the interval timer runs only while something is scheduled', async t => {
  const resolution = 7
  const started = t.capture(globalThis, 'setInterval', setInterval)
  const stopped = t.capture(globalThis, 'clearInterval', clearInterval)
  const wheelTimers = () => started.calls.filter(call => call.args[1] === resolution).map(call => (call as { returned: unknown }).returned)
  const isStopped = (timer: unknown) => stopped.calls.some(call => call.args[0] === timer)
  const { wheel, count } = recordingWheel(t, resolution)

  wheel.schedule('a', 1)
  wheel.schedule('b', 20)
  t.equal(wheelTimers().length, 1, 'one timer for many items')
  const [first] = wheelTimers()
  await until(() => count('b') === 1, 'b fired')
  await until(() => isStopped(first), 'the timer stopped once the wheel emptied')

  wheel.schedule('c', 500)
  t.equal(wheelTimers().length, 2, 'scheduling again starts a new timer')
  wheel.cancel('c')
  await until(() => isStopped(wheelTimers()[1]), 'the timer stopped after the last item was cancelled')
  t.equal(count('c'), 0)

  wheel.schedule('d', 500)
  wheel.clear()
  t.ok(isStopped(wheelTimers()[2]), 'clear stops the timer at once')
})
