// Loads traces, replays them (several at a time), and formats the results for people.
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { TRANSPORTS, type Trace, type Transport } from '../trace.ts'
import { replayTrace, traceName, type Failure, type ReplayOptions, type TraceResult } from './replayer.ts'

export const TRACE_DIRECTORY = join(dirname(new URL(import.meta.url).pathname), '..', 'traces')

export interface Selection {
  transport?: Transport
  /** Scenario names or `transport/scenario` names. */
  traces?: string[]
}

export async function loadTraces (selection: Selection = {}, directory = TRACE_DIRECTORY): Promise<Trace[]> {
  const traces: Trace[] = []
  for (const transport of TRANSPORTS) {
    if (selection.transport !== undefined && selection.transport !== transport) continue
    const files = await readdir(join(directory, transport)).catch(() => [] as string[])
    for (const file of files.filter(name => name.endsWith('.json')).sort()) {
      const trace = JSON.parse(await readFile(join(directory, transport, file), 'utf8')) as Trace
      const wanted = selection.traces === undefined || selection.traces.some(name => name === trace.scenario || name === traceName(trace))
      if (wanted) traces.push(trace)
    }
  }
  return traces
}

/** Traces subscribing to a root wildcard would see other traces' events: they run alone. */
function runsAlone (trace: Trace): boolean {
  return trace.steps.some(step => {
    const messages = step.kind === 'http' ? step.request.messages : step.kind === 'ws-send' ? step.messages : []
    return messages.some(m => m.channel === '/meta/subscribe' && [m.subscription].flat().some(s => s === '/*' || s === '/**'))
  })
}

/**
 * Replays `traces`, `concurrency` at a time, those that run alone first: then they need not wait
 * for every other replay under way to end, nor hold back the ones after them.
 */
export async function replayAll (traces: Trace[], url: string, concurrency: number, report: (result: TraceResult) => void, options: ReplayOptions = {}): Promise<TraceResult[]> {
  const results: TraceResult[] = []
  const running = new Set<Promise<void>>()
  const start = (trace: Trace): void => {
    const work = replayTrace(trace, url, options).then(result => { results.push(result); report(result) })
    running.add(work)
    void work.finally(() => running.delete(work))
  }
  for (const trace of traces.filter(runsAlone)) {
    start(trace)
    await Promise.all(running)
  }
  for (const trace of traces.filter(trace => !runsAlone(trace))) {
    while (running.size >= Math.max(1, concurrency)) await Promise.race(running)
    start(trace)
  }
  await Promise.all(running)
  return results
}

function show (value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return text === undefined ? 'undefined' : text.length > 400 ? `${text.slice(0, 400)}…` : text
}

export function formatFailure (trace: string, failure: Failure): string {
  const lines = [`  ${trace} step ${failure.step} (${failure.where}): ${failure.rule} [${failure.checklist}]`]
  if (failure.expected !== undefined) lines.push(`    expected: ${show(failure.expected)}`)
  if (failure.actual !== undefined) lines.push(`    actual:   ${show(failure.actual)}`)
  return lines.join('\n')
}

export function formatResult (result: TraceResult): string {
  if (result.failures.length === 0) return `ok   ${result.trace} (${result.durationMs} ms)`
  const failures = [...result.failures].sort((a, b) => a.step - b.step)
  return [`FAIL ${result.trace} (${failures.length} problem(s))`, ...failures.map(f => formatFailure(result.trace, f))].join('\n')
}

export function summary (results: TraceResult[]): string {
  const failed = results.filter(r => r.failures.length > 0).length
  return `${results.length - failed} passed, ${failed} failed`
}
