import t from 'tap'
import { parsePlan } from '../../bench/orchestration/plan.ts'

// The benchmark's command line: what each step of the stepped scenarios lasts, and the clear
// error a bad value gets before anything starts.

t.test('--step sets each stepped load\'s length in seconds; without it, 3 s, 1 s with --quick, 2 s with --nodes and --quick', async t => {
  t.equal(parsePlan(['--step', '10']).stepped.stepMs, 10_000)
  t.equal(parsePlan(['--step', '1.5', '--quick']).stepped.stepMs, 1_500, 'the flag wins over --quick')
  t.equal(parsePlan([]).stepped.stepMs, 3_000)
  t.equal(parsePlan(['--quick']).stepped.stepMs, 1_000)
  t.equal(parsePlan(['--quick', '--nodes', '1,2']).stepped.stepMs, 2_000)
})

t.test('a step that is not a number of seconds, or shorter than one, is refused by name', async t => {
  for (const value of ['0.5', '0', '-3', 'ten', '']) {
    t.throws(() => parsePlan([`--step=${value}`]), { message: `--step: expected seconds, at least 1, got ${value}` }, JSON.stringify(value))
  }
})

t.test('--targets takes positive offered loads, and names a bad one', async t => {
  t.same(parsePlan(['--targets', '2500, 5000']).stepped.targets, [2500, 5000])
  t.throws(() => parsePlan(['--targets', '5000,0']), { message: '--targets: expected offered loads such as 5000,10000, got 5000,0' })
})
