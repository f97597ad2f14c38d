// Server CPU per long-polling round trip, for a fixed amount of work: every server answers the
// same number of requests, whatever the machine's load, so the figure does not depend on how
// much a slowed-down server gets to batch (which moves the stepped scenarios' CPU per delivery
// on a busy machine). Each session sends `/meta/connect` with `advice.timeout: 0`, answered at
// once, in a closed loop over its own keep-alive connection: the cost of one HTTP exchange
// through each server's stack, the raw node:http limit included (issue 13).
//   node --import=tsx bench/round-trip.ts --server ours,baseline,raw-http,cometd --requests 20000
// With --instructions, each server runs under valgrind's callgrind and the figure is the
// instructions its main thread executes per round trip, counted from the end of the warm-up:
// the same on a busy machine as on a quiet one, for before/after comparisons.
//   node --import=tsx bench/round-trip.ts --instructions --server ours,baseline --requests 2000 --warmup 10000
// With --fanout, the deliveries of the fan-out scenario instead: every session subscribes to one
// channel and holds a connect, and each round one publish answers them all (each comes back
// with its next connect at once); the figure is per delivery, the publish's share included.
//   node --import=tsx bench/round-trip.ts --fanout --instructions --server ours,raw-http --sessions 100 --requests 2000
// With --rooms, the deliveries of the reference scenario: the sessions in rooms as there
// (1,000 sessions: 100 rooms of 100, each session in 10), every session holding a connect,
// and each round one publish to the next room answers that room's sessions; most connects
// stay held for ten rounds, and nearly every answer carries one event, as in the stepped
// scenario at 5,000/s, but at the pace the server sets, whatever the generator's load.
//   node --import=tsx bench/round-trip.ts --rooms --server raw-http,ours --sessions 1000 --requests 30000
// Without --instructions, the CPU time is split into the kernel's share and the main thread's
// (the rest is V8's collector helpers and compiler, and libuv's pool), with the read and write
// system calls; --gc adds the bytes the server allocated, its scavenges and its young
// generation's size (bench/os/gc-probe.mjs), which do not move with the machine's load.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { Agent, request } from 'undici'
import { coreLayout, pin } from './os/cpu-pinning.ts'
import { InstructionCounter } from './os/instruction-counter.ts'
import { sampleMainThread, sampleSyscalls } from './os/proc-stats.ts'
import { chatRooms } from './scenarios/workloads.ts'
import { compileCheckouts, SERVERS, type ServerName } from './servers/catalog.ts'
import { ServerProcess, type Launcher } from './servers/server-process.ts'

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: 'ours,baseline,raw-http,cometd' },
    requests: { type: 'string', default: '20000' },
    sessions: { type: 'string', default: '50' },
    repeat: { type: 'string', default: '3' },
    warmup: { type: 'string' },
    instructions: { type: 'boolean', default: false },
    fanout: { type: 'boolean', default: false },
    rooms: { type: 'boolean', default: false },
    gc: { type: 'boolean', default: false },
    'callgrind-dir': { type: 'string' }
  }
})
const servers = values.server.split(',') as ServerName[]
compileCheckouts(servers)
const requests = Number(values.requests)
const warmup = Number(values.warmup ?? requests / 4)
const instructions = values.instructions
const sessions = Number(values.sessions)
/** Deliveries rather than round trips. */
const delivering = values.fanout || values.rooms
const cores = coreLayout()
if (cores !== undefined) pin(process.pid, cores.generator)

interface Peer { clientId: string, cookie: string | undefined }

async function post (agent: Agent, url: string, peer: Peer | undefined, message: object): Promise<{ body: any[], cookie: string | undefined }> {
  const answer = await request(url, {
    method: 'POST',
    dispatcher: agent,
    body: JSON.stringify([message]),
    headers: { 'content-type': 'application/json', ...(peer?.cookie !== undefined && { cookie: peer.cookie }) }
  })
  const setCookie = answer.headers['set-cookie']
  const cookie = (Array.isArray(setCookie) ? setCookie[0] : setCookie)?.split(';')[0]
  return { body: await answer.body.json() as any[], cookie }
}

/** Handshakes and first connects of every session; then `total` connects answered at once, spread over the sessions. */
async function exchange (agent: Agent, url: string, peers: Peer[], total: number): Promise<void> {
  let left = total
  let id = 0
  await Promise.all(peers.map(async (peer) => {
    while (left-- > 0) {
      const { body } = await post(agent, url, peer, { id: String(++id), channel: '/meta/connect', clientId: peer.clientId, connectionType: 'long-polling', advice: { timeout: 0 } })
      if (body.at(-1)?.successful !== true) throw new Error(`connect failed: ${JSON.stringify(body)}`)
    }
  }))
}

const FANOUT_CHANNEL = '/fanout'

/**
 * A session's connects in the fan-out: one is always held, and each answer must carry the
 * round's event; the next connect goes out as soon as the answer is in.
 */
class Holder {
  readonly #agent: Agent
  readonly #url: string
  readonly #peer: Peer
  #held: Promise<{ body: any[] }>

  constructor (agent: Agent, url: string, peer: Peer) {
    this.#agent = agent
    this.#url = url
    this.#peer = peer
    this.#held = this.#connect()
  }

  async delivery (channel: string): Promise<void> {
    const { body } = await this.#held
    this.#held = this.#connect()
    // The connect's reply comes after the event from most servers, before it from Faye.
    if (!body.some((message) => message.channel === channel) || !body.some((message) => message.channel === '/meta/connect' && message.successful === true)) throw new Error(`no delivery: ${JSON.stringify(body)}`)
  }

  /** The client goes away with its connect held (the agent is destroyed): not an error. */
  abandon (): void {
    this.#held.catch(() => {})
  }

  #connect (): Promise<{ body: any[] }> {
    return post(this.#agent, this.#url, this.#peer, { channel: '/meta/connect', clientId: this.#peer.clientId, connectionType: 'long-polling' })
  }
}

/** `total` deliveries (rounded down to whole rounds): each round one publish answers every holder. */
async function fanOut (agent: Agent, url: string, publisher: Peer, holders: Holder[], total: number): Promise<number> {
  const rounds = Math.floor(total / holders.length)
  for (let round = 0; round < rounds; round++) {
    const delivered = Promise.all(holders.map(async (holder) => await holder.delivery(FANOUT_CHANNEL)))
    const { body } = await post(agent, url, publisher, { channel: FANOUT_CHANNEL, clientId: publisher.clientId, data: { round } })
    if (body.at(-1)?.successful !== true) throw new Error(`publish failed: ${JSON.stringify(body)}`)
    await delivered
  }
  return rounds * holders.length
}

/**
 * At least `total` deliveries, in whole rounds: each round publishes to the next room, and
 * waits until every holder in it has its event.
 */
async function roomRounds (agent: Agent, url: string, publisher: Peer, rooms: Array<[string, Holder[]]>, total: number): Promise<number> {
  let delivered = 0
  for (let round = 0; delivered < total; round++) {
    const [channel, holders] = rooms[round % rooms.length]!
    const answered = Promise.all(holders.map(async (holder) => await holder.delivery(channel)))
    const { body } = await post(agent, url, publisher, { channel, clientId: publisher.clientId, data: { round } })
    if (body.at(-1)?.successful !== true) throw new Error(`publish failed: ${JSON.stringify(body)}`)
    await answered
    delivered += holders.length
  }
  return delivered
}

const counter = instructions ? new InstructionCounter(values['callgrind-dir']) : undefined

/**
 * With --gc, each server runs with bench/os/gc-probe.mjs, which records its garbage collections
 * over the measured span: bytes allocated, and scavenges, per round trip.
 */
class GcProbe {
  readonly #dir = mkdtempSync(join(tmpdir(), 'bench-gc-'))

  constructor () {
    process.env.BENCH_GC_PROBE_DIR = this.#dir // the servers inherit it
  }

  get launcher (): Launcher {
    return { command: [], nodeArgs: [`--import=${fileURLToPath(new URL('./os/gc-probe.mjs', import.meta.url))}`], startupTimeoutMs: 20_000 }
  }

  start (pid: number): void {
    process.kill(pid, 'SIGUSR2')
  }

  async read (pid: number): Promise<GcRecord> {
    process.kill(pid, 'SIGUSR2')
    const file = join(this.#dir, `gc.${pid}.json`)
    for (let waited = 0; !existsSync(file); waited += 10) {
      if (waited > 10_000) throw new Error(`the GC probe of ${pid} wrote nothing`)
      await sleep(10)
    }
    return JSON.parse(readFileSync(file, 'utf8')) as GcRecord
  }

  remove (): void {
    rmSync(this.#dir, { recursive: true, force: true })
  }
}

interface GcRecord { allocatedBytes: number, scavenges: number, newSpaceBytes: number }

const probe = values.gc ? new GcProbe() : undefined

/** A handshaken session, its first connect answered. */
async function open (agent: Agent, url: string): Promise<Peer> {
  const { body, cookie } = await post(agent, url, undefined, { id: '0', channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] })
  const peer = { clientId: body[0].clientId, cookie }
  await post(agent, url, peer, { id: '1', channel: '/meta/connect', clientId: peer.clientId, connectionType: 'long-polling', advice: { timeout: 0 } })
  return peer
}

/**
 * Runs `total` round trips (or fan-out deliveries) through the server, after the warm-up, and
 * returns how many it ran.
 */
async function workload (agent: Agent, url: string): Promise<{ run: (total: number) => Promise<number>, end: () => void }> {
  const peers = await Promise.all(Array.from({ length: sessions }, async () => await open(agent, url)))
  if (!delivering) return { run: async (total) => { await exchange(agent, url, peers, total); return total }, end: () => {} }
  const publisher = await open(agent, url)
  if (values.rooms) {
    const load = chatRooms(sessions)
    // One subscribe a message: not every server takes a list of channels in one.
    await Promise.all(peers.map(async (peer, i) => {
      for (const channel of load.sessions[i]!) await post(agent, url, peer, { channel: '/meta/subscribe', clientId: peer.clientId, subscription: channel })
    }))
    const holders = peers.map((peer) => new Holder(agent, url, peer))
    const rooms = load.channels.map((channel): [string, Holder[]] => [channel, holders.filter((_, i) => load.sessions[i]!.includes(channel))])
    return { run: async (total) => await roomRounds(agent, url, publisher, rooms, total), end: () => holders.forEach((holder) => holder.abandon()) }
  }
  await Promise.all(peers.map(async (peer) => await post(agent, url, peer, { channel: '/meta/subscribe', clientId: peer.clientId, subscription: FANOUT_CHANNEL })))
  const holders = peers.map((peer) => new Holder(agent, url, peer))
  return { run: async (total) => await fanOut(agent, url, publisher, holders, total), end: () => holders.forEach((holder) => holder.abandon()) }
}

/**
 * Per round trip (or delivery): the server's CPU time in µs, with the kernel's share and the
 * main thread's (the rest is V8's and libuv's other threads), and its read and write system
 * calls; or, with --instructions, thousands of its main thread's instructions (in `figure`).
 */
interface Figures {
  figure: number
  systemMicros?: number
  mainMicros?: number
  mainSystemMicros?: number
  reads?: number
  writes?: number
  /** With --gc: bytes allocated, scavenges per 1,000 (round trips or deliveries), and the young generation's size at the end (MB). */
  allocatedBytes?: number
  scavengesPerThousand?: number
  newSpaceMegabytes?: number
}

async function measure (name: ServerName): Promise<Figures> {
  const server = await ServerProcess.start(SERVERS[name], 30_000, cores?.server, undefined, counter?.launcher ?? probe?.launcher)
  // One connection more than sessions: the fan-out's publisher, while every session holds a connect.
  const agent = new Agent({ connections: sessions + 1, pipelining: 1 })
  let end = (): void => {}
  try {
    const { run, end: ended } = await workload(agent, server.url)
    end = ended
    await run(warmup) // JIT, pools
    if (counter !== undefined) {
      counter.start(server.pid)
      const done = await run(requests)
      return { figure: counter.read(server.pid) / done / 1000 }
    }
    probe?.start(server.pid)
    const before = { process: server.sample(), main: sampleMainThread(server.pid), syscalls: sampleSyscalls(server.pid) }
    const done = await run(requests)
    const after = { process: server.sample(), main: sampleMainThread(server.pid), syscalls: sampleSyscalls(server.pid) }
    const gc = await probe?.read(server.pid)
    return {
      ...(gc !== undefined && { allocatedBytes: gc.allocatedBytes / done, scavengesPerThousand: (gc.scavenges * 1000) / done, newSpaceMegabytes: gc.newSpaceBytes / 2 ** 20 }),
      figure: (after.process.cpuMicros - before.process.cpuMicros) / done,
      systemMicros: (after.process.systemMicros - before.process.systemMicros) / done,
      mainMicros: (after.main.cpuMicros - before.main.cpuMicros) / done,
      mainSystemMicros: (after.main.systemMicros - before.main.systemMicros) / done,
      reads: (after.syscalls.reads - before.syscalls.reads) / done,
      writes: (after.syscalls.writes - before.syscalls.writes) / done
    }
  } finally {
    end()
    // Not close(): it would wait for the fan-out's held connects.
    await agent.destroy()
    await server.stop()
  }
}

const unit = `${instructions ? 'k instructions' : 'µs of server CPU'} per ${delivering ? 'delivery' : 'round trip'}`
const results = new Map<ServerName, Figures[]>(servers.map((name) => [name, []]))
const breakdown = (figures: Figures): string =>
  instructions
    ? ''
    : ` (system ${figures.systemMicros!.toFixed(1)}; main thread ${figures.mainMicros!.toFixed(1)}, of it system ${figures.mainSystemMicros!.toFixed(1)}; ${figures.reads!.toFixed(2)} reads, ${figures.writes!.toFixed(2)} writes` +
      (figures.allocatedBytes === undefined ? ')' : `; ${figures.allocatedBytes.toFixed(0)} bytes allocated, ${figures.scavengesPerThousand!.toFixed(2)} scavenges per 1,000, young generation ${figures.newSpaceMegabytes} MB)`)
try {
  for (let round = 0; round < Number(values.repeat); round++) {
    // Each round in the other order, so that neither build always runs first.
    for (const name of round % 2 === 0 ? servers : [...servers].reverse()) {
      const figures = await measure(name)
      results.get(name)!.push(figures)
      console.log(`round ${round + 1}: ${SERVERS[name].label}: ${figures.figure.toFixed(1)} ${unit}${breakdown(figures)}`)
    }
  }
} finally {
  counter?.remove()
  probe?.remove()
}
const first = servers[0]!
const median = (list: number[]): number => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!
const medianOf = (name: ServerName, key: keyof Figures): number => median(results.get(name)!.map((figures) => figures[key]!))
const gcColumns = probe === undefined ? '' : ' bytes allocated | scavenges per 1,000 | young generation, MB |'
const cpuColumns = instructions ? '' : ` system | main thread | other threads | reads | writes |${gcColumns}`
console.log(`\n| server | ${unit}, median (runs) | × ${SERVERS[first].label} |${cpuColumns}`)
console.log(`|---|---|---|${instructions ? '' : '---|---|---|---|---|'}${probe === undefined ? '' : '---|---|---|'}`)
for (const [name, list] of results) {
  const figure = medianOf(name, 'figure')
  // Medians of each part; "other threads" is the median of each round's difference.
  const parts = instructions
    ? ''
    : ` ${medianOf(name, 'systemMicros').toFixed(1)} | ${medianOf(name, 'mainMicros').toFixed(1)} | ${median(list.map((figures) => figures.figure - figures.mainMicros!)).toFixed(1)} | ${medianOf(name, 'reads').toFixed(2)} | ${medianOf(name, 'writes').toFixed(2)} |` +
      (probe === undefined ? '' : ` ${medianOf(name, 'allocatedBytes').toFixed(0)} | ${medianOf(name, 'scavengesPerThousand').toFixed(2)} | ${medianOf(name, 'newSpaceMegabytes')} |`)
  console.log(`| ${SERVERS[name].label} | ${figure.toFixed(1)} (${list.map((figures) => figures.figure.toFixed(1)).join(', ')}) | ${(figure / medianOf(first, 'figure')).toFixed(2)}× |${parts}`)
}
