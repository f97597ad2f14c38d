import { execFileSync } from 'node:child_process'
import { availableParallelism } from 'node:os'

/**
 * Which cores the server and the load generator get. With two or more cores they are kept
 * apart so that a busy generator does not steal the server's core (and vice versa).
 */
export interface CoreLayout {
  server: string
  generator: string
}

function hasTaskset (): boolean {
  try {
    execFileSync('taskset', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export function coreLayout (): CoreLayout | undefined {
  const cores = availableParallelism()
  if (cores < 2 || !hasTaskset()) return undefined
  const serverCores = Math.max(1, Math.floor(cores / 2))
  return { server: `0-${serverCores - 1}`, generator: `${serverCores}-${cores - 1}` }
}

/** Pins every thread of a running process (-a) to the given cores. */
export function pin (pid: number, cores: string | undefined): void {
  if (cores !== undefined) execFileSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { stdio: 'ignore' })
}
