import t from 'tap'
import type { Test } from 'tap'
import { TimerWheel, WheelTimer } from '../../lib/server/timer-wheel.ts'
import { delay } from '../helpers.ts'

/** Polls `done` (bounded) so tests wait for firings without assuming how late they come. */
async function until (done: () => boolean, what: string): Promise<void> {
  for (let round = 0; round < 2_000; round++) {
    if (done()) return
    await delay(5)
  }
  throw new Error(`timed out waiting until ${what}`)
}

/** Busy-waits to early in a slot of the wheel's clock, so items scheduled next (same delay) share one slot. */
function earlyInSlot (resolution: number): void {
  for (let spins = 0; spins < 10_000_000; spins++) {
    const phase = performance.now() % resolution
    if (phase >= 1 && phase < resolution / 2) return
  }
}

/** A wheel of named items whose firings are recorded with the time they happened; `timer(name)` is each name's one timer. */
function recordingWheel (t: Test, resolution: number, then?: (item: string, wheel: TimerWheel<string>, timer: (name: string) => WheelTimer<string>) => void) {
  const fired: Array<{ item: string, at: number }> = []
  const timers = new Map<string, WheelTimer<string>>()
  const timer = (name: string): WheelTimer<string> => {
    let found = timers.get(name)
    if (found === undefined) timers.set(name, found = new WheelTimer(name))
    return found
  }
  const wheel: TimerWheel<string> = new TimerWheel<string>(resolution, item => {
    fired.push({ item, at: Date.now() })
    then?.(item, wheel, timer)
  })
  t.teardown(() => wheel.clear())
  const count = (item: string) => fired.filter(f => f.item === item).length
  return { wheel, fired, count, timer }
}

t.test('items never fire before their deadline, and fire once', async t => {
  const { wheel, fired, count, timer } = recordingWheel(t, 5)
  const deadlines = new Map<string, number>()
  for (const delayMs of [0, 1, 4, 5, 6, 13, 40]) {
    deadlines.set(`d${delayMs}`, Date.now() + delayMs)
    wheel.schedule(timer(`d${delayMs}`), delayMs)
  }
  t.equal(wheel.size, 7)
  await until(() => fired.length >= 7, 'all fired')
  for (const { item, at } of fired) t.ok(at >= deadlines.get(item)!, `${item} fired at or after its deadline`)
  await delay(60)
  for (const item of deadlines.keys()) t.equal(count(item), 1, `${item} fired once`)
  t.equal(wheel.size, 0)
})

t.test('cancel', async t => {
  const { wheel, count, timer } = recordingWheel(t, 5)
  wheel.schedule(timer('cancelled'), 10)
  wheel.schedule(timer('kept'), 30)
  wheel.cancel(timer('cancelled'))
  wheel.cancel(timer('never scheduled'))
  t.equal(wheel.size, 1)
  await until(() => count('kept') === 1, 'kept fired')
  t.equal(count('cancelled'), 0, 'a cancelled item does not fire')
})

t.test('reschedule moves the deadline', async t => {
  const { wheel, fired, timer } = recordingWheel(t, 5)
  // 300 ms apart, so that a busy machine pausing the test between two of these calls
  // cannot put 'sooner' after 'later'.
  wheel.schedule(timer('later'), 5)
  const deadline = Date.now() + 300
  wheel.schedule(timer('later'), 300)
  t.equal(wheel.size, 1, 'still one item')
  wheel.schedule(timer('sooner'), 300)
  wheel.schedule(timer('sooner'), 0)
  await until(() => fired.length >= 2, 'both fired')
  t.same(fired.map(f => f.item), ['sooner', 'later'])
  t.ok(fired[1]!.at >= deadline, 'the later deadline holds')
  await delay(30)
  t.equal(fired.length, 2, 'the replaced deadlines do not fire')
})

t.test('extend moves a deadline later, never sooner, and schedules an item that has none', async t => {
  const { wheel, fired, timer } = recordingWheel(t, 5)
  wheel.schedule(timer('later'), 300)
  wheel.extend(timer('later'), 0)
  wheel.extend(timer('fresh'), 0)
  t.equal(wheel.size, 2)
  await until(() => fired.length >= 1, 'fresh fired')
  t.same(fired.map(f => f.item), ['fresh'], 'the earlier deadline was not taken')
  const extended = Date.now() + 400
  wheel.extend(timer('later'), 400)
  await until(() => fired.length >= 2, 'later fired')
  t.ok(fired[1]!.at >= extended, 'the later deadline was taken')
})

t.test('an item still fires when the clock moves to a later slot while it is scheduled', async t => {
  // A process paused inside schedule() (a GC pause, a busy machine) between reading the clock
  // for the item's deadline and for the wheel's first tick: the ticks must still reach its slot.
  const resolution = 5
  const { wheel, fired, timer } = recordingWheel(t, resolution)
  const clock = performance.now.bind(performance)
  const start = Math.floor(clock() / resolution) * resolution
  const readings = [start, start + resolution]
  performance.now = () => readings.shift() ?? clock()
  try {
    wheel.schedule(timer('paused'), 0)
  } finally {
    performance.now = clock
  }
  await until(() => fired.length === 1, 'the item fired')
})

t.test('reschedule from inside a firing callback', async t => {
  for (const again of [0, 1, 12]) {
    const deadlines: number[] = []
    const { wheel, fired, timer } = recordingWheel(t, 5, (item, wheel, timer) => {
      if (fired.length < 3) {
        deadlines.push(Date.now() + again)
        wheel.schedule(timer(item), again)
      }
    })
    deadlines.push(Date.now())
    wheel.schedule(timer('again'), 0)
    await until(() => fired.length === 3, `rescheduled with ${again} ms fired three times`)
    fired.forEach(({ at }, i) => t.ok(at >= deadlines[i]!, `delay ${again}: firing ${i + 1} not early`))
    await delay(30)
    t.equal(fired.length, 3, `delay ${again}: no extra firing`)
  }
})

t.test('a callback may schedule another item for right now', async t => {
  const { wheel, count, timer } = recordingWheel(t, 5, (item, wheel, timer) => { if (item === 'first') wheel.schedule(timer('second'), 0) })
  wheel.schedule(timer('first'), 5)
  await until(() => count('second') === 1, 'second fired')
  t.equal(count('first'), 1)
})

t.test('a callback may cancel an item due in the same slot', async t => {
  const { wheel, fired, timer } = recordingWheel(t, 50, (item, wheel, timer) => wheel.cancel(timer(item === 'a' ? 'b' : 'a')))
  earlyInSlot(50)
  wheel.schedule(timer('a'), 50)
  wheel.schedule(timer('b'), 50)
  await until(() => fired.length >= 1, 'one fired')
  await delay(120)
  t.equal(fired.length, 1, 'the other was cancelled and does not fire')
  t.equal(wheel.size, 0)
})

t.test('a callback may clear the wheel', async t => {
  const { wheel, fired, timer } = recordingWheel(t, 50, (_, wheel) => wheel.clear())
  earlyInSlot(50)
  for (const item of ['a', 'b', 'c']) wheel.schedule(timer(item), 50)
  wheel.schedule(timer('later'), 150)
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
  const { wheel, count, timer } = recordingWheel(t, resolution)

  wheel.schedule(timer('a'), 1)
  wheel.schedule(timer('b'), 20)
  t.equal(wheelTimers().length, 1, 'one timer for many items')
  const [first] = wheelTimers()
  await until(() => count('b') === 1, 'b fired')
  await until(() => isStopped(first), 'the timer stopped once the wheel emptied')

  wheel.schedule(timer('c'), 500)
  t.equal(wheelTimers().length, 2, 'scheduling again starts a new timer')
  wheel.cancel(timer('c'))
  await until(() => isStopped(wheelTimers()[1]), 'the timer stopped after the last item was cancelled')
  t.equal(count('c'), 0)

  wheel.schedule(timer('d'), 500)
  wheel.clear()
  t.ok(isStopped(wheelTimers()[2]), 'clear stops the timer at once')
})

t.test('a deadline more than a turn of the ring away waits for its turn, beside nearer ones in its position', async t => {
  // 256 positions of 5 ms: a turn is 1,280 ms, so 1,500 ms shares a position with 220 ms.
  const { wheel, fired, timer } = recordingWheel(t, 5)
  earlyInSlot(5)
  const start = Date.now()
  wheel.schedule(timer('far'), 1_500)
  wheel.schedule(timer('near'), 220)
  await until(() => fired.length >= 1, 'near fired')
  t.same(fired.map(f => f.item), ['near'], 'the far one is skipped on the earlier turn')
  await until(() => fired.length >= 2, 'far fired')
  t.ok(fired[1]!.at >= start + 1_500, 'not early')
  t.equal(wheel.size, 0)
})

t.test('after a pause longer than a turn, everything due fires once, and what is not due waits', async t => {
  const resolution = 5
  const { wheel, fired, count, timer } = recordingWheel(t, resolution)
  const clock = performance.now.bind(performance)
  t.teardown(() => { performance.now = clock })
  for (const delayMs of [10, 640, 1_270]) wheel.schedule(timer(`due ${delayMs}`), delayMs)
  wheel.schedule(timer('later'), 10_000)
  // The next ticks read a clock 5 s ahead: ten turns of the ring went by unvisited.
  const skew = 5_000
  performance.now = () => clock() + skew
  await until(() => fired.length >= 3, 'the due ones fired')
  await delay(50)
  t.same(fired.map(f => f.item).sort(), ['due 10', 'due 1270', 'due 640'])
  t.equal(count('later'), 0, 'the one due 5 s after the pause has not fired')
  t.equal(wheel.size, 1)
})

t.test('a timer is reusable after a cancel, a firing and a clear', async t => {
  const { wheel, count, timer } = recordingWheel(t, 5)
  const reused = timer('reused')
  t.equal(wheel.size, 0)
  wheel.schedule(reused, 0)
  t.equal(wheel.size, 1)
  wheel.cancel(reused)
  wheel.cancel(reused)
  t.equal(wheel.size, 0, 'cancelling twice counts once')
  wheel.schedule(reused, 0)
  await until(() => count('reused') === 1, 'fired')
  t.equal(wheel.size, 0, 'not scheduled once fired')
  wheel.schedule(reused, 50)
  wheel.schedule(timer('other'), 50)
  wheel.clear()
  t.equal(wheel.size, 0, 'clear unschedules')
  wheel.schedule(reused, 0)
  await until(() => count('reused') === 2, 'fired again after the clear')
  t.equal(count('other'), 0)
})

t.test('a negative delay is due now, and such a timer moves and cancels as any other', async t => {
  const { wheel, count, timer } = recordingWheel(t, 5)
  wheel.schedule(timer('negative'), -60_000)
  wheel.schedule(timer('moved'), 1_000)
  wheel.schedule(timer('moved'), -60_000)
  wheel.schedule(timer('cancelled'), -60_000)
  wheel.cancel(timer('cancelled'))
  wheel.extend(timer('extended'), -60_000)
  await until(() => count('negative') === 1 && count('moved') === 1 && count('extended') === 1, 'all three fired')
  await delay(50)
  t.same([count('negative'), count('moved'), count('extended'), count('cancelled')], [1, 1, 1, 0], 'each once (extend schedules an idle timer, as schedule does), the cancelled one never')
  t.equal(wheel.size, 0)
})

t.test('the wall clock stepped forward or back moves no deadline', async t => {
  const { wheel, count, timer } = recordingWheel(t, 5)
  const wallClock = Date.now
  t.teardown(() => { Date.now = wallClock })
  wheel.schedule(timer('forward'), 300)
  Date.now = () => wallClock() + 3_600_000
  await delay(100)
  t.equal(count('forward'), 0, 'an hour ahead on the wall clock: not due yet')
  Date.now = () => wallClock() - 3_600_000
  wheel.schedule(timer('back'), 0)
  await until(() => count('forward') === 1 && count('back') === 1, 'both fired with the wall clock an hour back')
})
