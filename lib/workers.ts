import cluster from 'node:cluster'
import { availableParallelism } from 'node:os'

/** How many processes `--workers` asks for: a number, or `auto` for one per core. */
export function workerCount (setting: string | undefined): number {
  if (setting === undefined) return 1
  return setting === 'auto' ? availableParallelism() : Number(setting)
}

/** What a worker tells the primary once it serves. */
export interface ServingMessage {
  readonly serving: string
}

function isServing (message: unknown): message is ServingMessage {
  return typeof message === 'object' && message !== null && typeof (message as { serving?: unknown }).serving === 'string'
}

/**
 * The primary process of `--workers n`: forks n workers running the same command line,
 * which share the port (node:cluster hands connections to them round-robin) and their
 * sessions through Redis. It prints the URL once, starts a new worker when one dies,
 * and on SIGTERM or SIGINT passes the signal on (each worker drains) and exits once
 * every worker has. A worker that fails before any has served (a bad option, no
 * Redis) ends the whole command with status 1.
 */
export function superviseWorkers (count: number): void {
  cluster.schedulingPolicy = cluster.SCHED_RR
  let serving = false
  let stopping = false
  // Counted here: node:cluster lists a worker until it has both exited and disconnected.
  let living = 0
  const fork = (): void => {
    living++
    cluster.fork().on('message', message => {
      if (serving || !isServing(message)) return
      serving = true
      process.stdout.write(`bayeux-server: serving ${message.serving} with ${count} workers\n`)
    })
  }
  const stop = (signal: NodeJS.Signals): void => {
    stopping = true
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal)
  }
  cluster.on('exit', (worker, code, signal) => {
    living--
    if (stopping || !serving) {
      if (!stopping) {
        process.exitCode = 1
        stop('SIGTERM')
      }
      if (living === 0) process.exit()
      return
    }
    process.stderr.write(`bayeux-server: worker ${worker.process.pid} ended (${signal ?? `status ${code}`}); starting another\n`)
    fork()
  })
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))
  for (let i = 0; i < count; i++) fork()
}
