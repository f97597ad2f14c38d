/**
 * Debian's HAProxy as a plain round-robin balancer in front of several nodes, for tests
 * of a cluster where any request may reach any node: no stickiness of any kind, so that
 * consecutive requests of one client, even on one keep-alive connection, go to different
 * nodes in turn: in its default keep-alive mode, HAProxy balances each request on its
 * own (spec/e2e/cluster/haproxy.test.ts checks it).
 * Its runtime API, on a socket, counts the requests each node got and takes nodes out of
 * rotation and back.
 */
import { connect } from 'node:net'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { delay } from '../helpers.ts'
import type { Daemon, Skippable, Teardown } from './services.ts'
import { freePort, need, onFreePorts, runs, startDaemon, tempDir } from './services.ts'

export const HAPROXY = '/usr/sbin/haproxy'

/** Whether HAProxy runs; when it does not, ends `t`: skipped, or failed under `CI=true`. */
export function requireHaproxy (t: Skippable): boolean {
  return need(t, runs(HAPROXY, ['-v']) ? undefined : `${HAPROXY} not found (Debian: apt-get install haproxy)`)
}

export interface HaproxyOptions {
  /**
   * How HAProxy checks each backend, every 500 ms, taking it out of rotation after one
   * failure and back after one success: `'tcp'` (the default) connects, `{ path }` must
   * get a 2xx or 3xx to `GET path` (bin/bayeux-server: `/health/live`), `false` never
   * checks (a dead backend then stays in rotation).
   */
  check?: 'tcp' | { path: string } | false
}

/** A backend as HAProxy's statistics see it. */
export interface BackendStats {
  /** `n0`, `n1`... in the order the backends were given. */
  name: string
  /** `UP`, `DOWN`, `MAINT` (taken out by `disable`)... */
  status: string
  /** HTTP requests sent to it (a WebSocket counts one, its upgrade). */
  requests: number
  /** Connections HAProxy opened to it. */
  connections: number
}

/** `host:port` of a backend given as `host:port` or as a URL. */
function address (backend: string): string {
  return backend.includes('://') ? new URL(backend).host : backend
}

function config (port: number, socket: string, backends: readonly string[], check: HaproxyOptions['check']): string {
  const checking = check === false ? '' : ' check'
  return [
    'global',
    '  nbthread 1',
    `  stats socket ${socket} mode 600 level admin`,
    '',
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    // Long enough for held long-polling connects, and for idle WebSockets.
    '  timeout client 120s',
    '  timeout server 120s',
    '  timeout tunnel 1h',
    '  timeout check 2s',
    // A request that could not even connect to a node (killed, not yet seen down) is
    // sent to another: what any real deployment does.
    '  retries 2',
    '  option redispatch 1',
    '',
    'frontend balancer',
    `  bind 127.0.0.1:${port}`,
    '  default_backend nodes',
    '',
    'backend nodes',
    '  balance roundrobin',
    // Which node answered, for tests that follow one client's requests around.
    '  http-response set-header X-Served-By %[srv_name]',
    ...(typeof check === 'object' ? ['  option httpchk', `  http-check send meth GET uri ${check.path}`] : []),
    '  default-server inter 500 fall 1 rise 1',
    ...backends.map((backend, i) => `  server n${i} ${address(backend)}${checking}`),
    ''
  ].join('\n')
}

/** The rows of `show stat` (CSV with a `# ` header), as objects by column name. */
function parseStats (csv: string): Array<Record<string, string>> {
  const [header = '', ...rows] = csv.trim().split('\n')
  const columns = header.replace(/^# /, '').split(',')
  return rows.map(row => {
    const values = row.split(',')
    return Object.fromEntries(columns.map((column, i) => [column, values[i] ?? '']))
  })
}

export class Haproxy {
  /** `http://127.0.0.1:<port>`: append the path (`/cometd`). */
  readonly url: string
  /** The backends' `host:port`, in the order given: backend `i` is `n<i>`. */
  readonly backends: readonly string[]
  readonly #socket: string
  readonly #daemon: Daemon

  private constructor (url: string, backends: readonly string[], socket: string, daemon: Daemon) {
    this.url = url
    this.backends = backends
    this.#socket = socket
    this.#daemon = daemon
  }

  /**
   * Balances `backends` (`host:port`, or URLs whose host and port are taken) on
   * 127.0.0.1 and a free port; resolves once every checked backend passed its first
   * check. Killed when `t` ends.
   */
  static async start (t: Teardown, backends: readonly string[], { check = 'tcp' }: HaproxyOptions = {}): Promise<Haproxy> {
    const dir = await tempDir(t, 'bayeux-haproxy')
    const socket = join(dir, 'stats.sock')
    const haproxy = await onFreePorts(async () => {
      const port = await freePort()
      const file = join(dir, 'haproxy.cfg')
      await writeFile(file, config(port, socket, backends, check))
      // -db: in the foreground, its alerts and warnings on stderr.
      const daemon = await startDaemon(HAPROXY, ['-db', '-f', file], dir, daemon => answers(socket, daemon))
      return new Haproxy(`http://127.0.0.1:${port}`, backends.map(address), socket, daemon)
    })
    t.teardown(() => haproxy.stop())
    if (check !== false) {
      for (let i = 0; i < backends.length; i++) await haproxy.until(i, 'UP')
    }
    return haproxy
  }

  /** Sends a command of HAProxy's runtime API (`show stat`, `set server ...`); resolves to its answer. */
  async command (line: string): Promise<string> {
    return await ask(this.#socket, line)
  }

  /** The backends' statistics, in the order they were given. */
  async stats (): Promise<BackendStats[]> {
    return (await this.#rows()).filter(row => row['pxname'] === 'nodes' && /^n\d+$/.test(row['svname'] ?? '')).map(row => ({
      name: row['svname']!,
      status: row['status']!,
      requests: Number(row['req_tot']),
      connections: Number(row['stot'])
    }))
  }

  /** How many HTTP requests each backend got, in the order they were given. */
  async requests (): Promise<number[]> {
    return (await this.stats()).map(backend => backend.requests)
  }

  /** How many client connections the balancer accepted. */
  async clientConnections (): Promise<number> {
    const frontend = (await this.#rows()).find(row => row['pxname'] === 'balancer' && row['svname'] === 'FRONTEND')
    return Number(frontend?.['stot'])
  }

  /** Takes backend `i` out of rotation (maintenance); requests in flight finish. */
  async disable (i: number): Promise<void> {
    await this.#set(i, 'maint')
  }

  /** Puts backend `i` back in rotation (once its health check passes, if it has one). */
  async enable (i: number): Promise<void> {
    await this.#set(i, 'ready')
  }

  /**
   * Resolves once backend `i`'s status starts with `status` (`UP`, `DOWN`, `MAINT`) after
   * a health check, if it has them (before its first one a backend counts as UP).
   * Rejects after 15 s.
   */
  async until (i: number, status: string): Promise<void> {
    for (let waited = 0; waited < 15_000; waited += 50) {
      const row = (await this.#rows()).find(row => row['pxname'] === 'nodes' && row['svname'] === `n${i}`)
      const checked = !/^\*?\s*INI/.test(row?.['check_status'] ?? '')
      if (row?.['status']?.startsWith(status) === true && (checked || status === 'MAINT')) return
      await delay(50)
    }
    throw new Error(`haproxy: n${i} (${this.backends[i]}) never became ${status}:\n${this.#daemon.output()}`)
  }

  /** What HAProxy printed: alerts, and backends going down and up. */
  output (): string {
    return this.#daemon.output()
  }

  async stop (): Promise<void> {
    await this.#daemon.stop('SIGKILL')
  }

  async #rows (): Promise<Array<Record<string, string>>> {
    return parseStats(await this.command('show stat'))
  }

  async #set (i: number, state: 'maint' | 'ready'): Promise<void> {
    const answer = await this.command(`set server nodes/n${i} state ${state}`)
    if (answer.trim() !== '') throw new Error(`haproxy: set server nodes/n${i} state ${state}: ${answer}`)
  }
}

/** Sends one command to HAProxy's runtime API at `socket`; resolves to the whole answer. */
function ask (socket: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = ''
    connect(socket, function (this: ReturnType<typeof connect>) { this.end(`${line}\n`) })
      .setEncoding('utf8')
      .on('data', chunk => { answer += chunk })
      .on('end', () => resolve(answer))
      .on('error', reject)
  })
}

/** Resolves once the runtime API at `socket` answers: HAProxy has read its configuration and bound its ports. */
async function answers (socket: string, daemon: Daemon): Promise<void> {
  while (daemon.child.exitCode === null && daemon.child.signalCode === null) {
    try {
      await ask(socket, 'show info')
      return
    } catch {
      await delay(20)
    }
  }
}
