import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Launcher } from '../servers/server-process.ts'

/**
 * Counts a server's instructions under valgrind's callgrind: instrumentation (and with it
 * the count) starts with start(), so start-up and a warm-up run several times faster and
 * count nothing. The same on a busy machine as on a quiet one, for before/after comparisons.
 */
export class InstructionCounter {
  readonly #dir: string
  /** Whether callgrind's files stay, for per-function reading with callgrind_annotate. */
  readonly #keep: boolean

  /** `dir`: where callgrind's files go and stay; by default a temporary directory, removed. */
  constructor (dir?: string) {
    this.#dir = dir ?? mkdtempSync(join(tmpdir(), 'bench-callgrind-'))
    this.#keep = dir !== undefined
  }

  get launcher (): Launcher {
    const command = ['valgrind', '-q', '--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', `--callgrind-out-file=${this.#dir}/callgrind.%p`]
    // V8's memory reducer collects garbage on a clock: under callgrind's slowdown it would
    // run many times more often per unit of work, and more or less often with the load.
    return { command, nodeArgs: ['--no-memory-reducer'], startupTimeoutMs: 600_000 }
  }

  start (pid: number): void {
    this.#control(pid, '--instr=on')
    this.#control(pid, '--zero')
  }

  /**
   * Instructions of the main thread since start(), from a dump of the counters. The other
   * threads (V8's optimizing compiler, concurrent marking) are left out: how much of their
   * work falls in the measured span depends on how far the JIT got during the warm-up.
   */
  read (pid: number): number {
    this.#control(pid, '--dump')
    const dump = readdirSync(this.#dir).filter((file) => file.startsWith(`callgrind.${pid}.`) && file.endsWith('-01')).sort().at(-1)
    const totals = /^(?:summary|totals): (\d+)/m.exec(readFileSync(join(this.#dir, dump!), 'utf8'))
    return Number(totals![1])
  }

  remove (): void {
    if (this.#keep) return
    rmSync(this.#dir, { recursive: true, force: true })
  }

  #control (pid: number, command: string): void {
    execFileSync('callgrind_control', [command, String(pid)], { stdio: 'ignore' })
  }
}
