import { readFileSync } from 'node:fs'

const TICKS_PER_SECOND = 100 // USER_HZ; Linux reports 100 on every mainstream architecture

/** CPU time (user + system) and resident memory of a process, read from /proc. */
export interface ProcessSample {
  cpuMicros: number
  /** The part of cpuMicros spent in the kernel (stime). */
  systemMicros: number
  rssBytes: number
}

/** A process and its children (the workers of a node:cluster primary), summed. */
export function sampleProcessTree (pid: number): ProcessSample {
  const total = sampleProcess(pid)
  for (const child of childrenOf(pid)) {
    try {
      const sample = sampleProcess(child)
      total.cpuMicros += sample.cpuMicros
      total.systemMicros += sample.systemMicros
      total.rssBytes += sample.rssBytes
    } catch {} // exited since it was listed
  }
  return total
}

export function childrenOf (pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number)
  } catch {
    return [] // no such file where the kernel lacks CONFIG_PROC_CHILDREN: the process alone
  }
}

export function sampleProcess (pid: number): ProcessSample {
  const { cpuMicros, systemMicros } = cpuOf(`/proc/${pid}/stat`)
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return { cpuMicros, systemMicros, rssBytes: rssKiB * 1024 }
}

/**
 * CPU time of a process's main thread alone (its thread id is the process id): the rest of
 * the process's CPU time is its other threads' (V8's garbage collector helpers and compiler,
 * libuv's pool).
 */
export function sampleMainThread (pid: number): Omit<ProcessSample, 'rssBytes'> {
  return cpuOf(`/proc/${pid}/task/${pid}/stat`)
}

function cpuOf (statFile: string): Omit<ProcessSample, 'rssBytes'> {
  // The command name in parentheses may contain spaces, so fields are counted after its ')'.
  const stat = readFileSync(statFile, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const systemTicks = Number(fields[12])
  const ticks = Number(fields[11]) + systemTicks // utime and stime: fields 14 and 15
  return { cpuMicros: (ticks * 1e6) / TICKS_PER_SECOND, systemMicros: (systemTicks * 1e6) / TICKS_PER_SECOND }
}

/** Read- and write-type system calls a process (every thread) has made, from /proc/<pid>/io. */
export interface SyscallSample {
  reads: number
  writes: number
}

export function sampleSyscalls (pid: number): SyscallSample {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8')
  return { reads: Number(/syscr:\s+(\d+)/.exec(io)![1]), writes: Number(/syscw:\s+(\d+)/.exec(io)![1]) }
}
