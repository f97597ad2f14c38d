// Server work per WebSocket delivery at a steady rate, for a fixed amount of work: N sessions
// subscribe to one channel, and one publisher sends M messages in a closed loop, each only once
// the previous one reached every subscriber. No server ever has two events for a session at
// once, so nothing batches: every delivery is its own frame and its own write, as at the
// stepped scenarios' steady rates, whatever the machine's load (issue 13).
//   node --import=tsx bench/ws-steady.ts --server ours,baseline,raw-ws --subscribers 500 --publishes 400
// It reports the server's CPU time (user and system) and its read and write system calls
// (/proc/<pid>/io) per delivery; with --instructions, the thousands of instructions its main
// thread executes per delivery under callgrind (see bench/README.md).
//   node --import=tsx bench/ws-steady.ts --instructions --server ours,baseline,raw-ws --subscribers 200 --publishes 100
import { parseArgs } from 'node:util'
import { BayeuxClient, type ClientProblems } from './loadgen/bayeux-client.ts'
import { PayloadFactory } from './loadgen/payload.ts'
import { SourceAddress } from './loadgen/source-address.ts'
import { webSocketLink } from './loadgen/ws-link.ts'
import { coreLayout, pin } from './os/cpu-pinning.ts'
import { InstructionCounter } from './os/instruction-counter.ts'
import { sampleProcess, sampleSyscalls } from './os/proc-stats.ts'
import { compileCheckouts, SERVERS, type ServerName } from './servers/catalog.ts'
import { ServerProcess } from './servers/server-process.ts'

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: 'ours,baseline,raw-ws' },
    subscribers: { type: 'string', default: '500' },
    publishes: { type: 'string', default: '400' },
    warmup: { type: 'string' },
    repeat: { type: 'string', default: '3' },
    instructions: { type: 'boolean', default: false }
  }
})
const servers = values.server.split(',') as ServerName[]
compileCheckouts(servers)
for (const name of servers) {
  const unavailable = SERVERS[name].unavailable()
  if (unavailable !== undefined) throw new Error(`${name}: ${unavailable}`)
}
const subscribers = Number(values.subscribers)
const publishes = Number(values.publishes)
const warmup = Number(values.warmup ?? publishes / 2)
const deliveries = subscribers * publishes
const cores = coreLayout()
if (cores !== undefined) pin(process.pid, cores.generator)
const counter = values.instructions ? new InstructionCounter() : undefined
/** Held connects are not answered within a run: what is measured is deliveries, not the connect cycle. */
const HOLD_MS = 600_000
const OPENING_AT_ONCE = 50
const CHANNEL = '/broadcast'

/** A loopback source address of this process's own, so that its ports meet no other run's. */
const source = new SourceAddress(`127.1.${(process.pid >> 8) & 255}.${(process.pid & 255) || 1}`)

interface Figures {
  cpuMicros: number
  systemMicros: number
  reads: number
  writes: number
  kiloInstructions: number | undefined
}

async function measure (name: ServerName): Promise<Figures> {
  const server = await ServerProcess.start(SERVERS[name], HOLD_MS, cores?.server, undefined, counter?.launcher)
  const problems: ClientProblems = { failedReplies: 0, transportErrors: 0, lastError: '', sessionsLost: 0 }
  const clients: BayeuxClient[] = []
  let received = 0
  let expected = 0
  let arrived: (() => void) | undefined
  const onEvent = (): void => {
    if (++received === expected) arrived?.()
  }
  try {
    const link = webSocketLink(server.url.replace(/^http/, 'ws'), source)
    for (let opened = 0; opened < subscribers; opened += OPENING_AT_ONCE) {
      await Promise.all(Array.from({ length: Math.min(OPENING_AT_ONCE, subscribers - opened) }, async () => {
        const client = new BayeuxClient(onEvent, problems)
        clients.push(client)
        await client.open(link)
        await client.subscribe([CHANNEL])
      }))
    }
    const publisher = new BayeuxClient(() => {}, problems)
    clients.push(publisher)
    await publisher.open(link)
    const payloads = new PayloadFactory(1, 50)
    let sequence = 0
    /** Publishes `count` messages, each once the one before reached every subscriber. */
    const broadcast = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        expected = received + subscribers
        const done = new Promise<void>((resolve) => { arrived = resolve })
        publisher.publish([{ channel: CHANNEL, data: payloads.create(++sequence) }])
        await done
      }
    }
    await broadcast(warmup) // JIT, pools
    counter?.start(server.pid)
    const before = sampleProcess(server.pid)
    const syscallsBefore = sampleSyscalls(server.pid)
    await broadcast(publishes)
    const kiloInstructions = counter === undefined ? undefined : counter.read(server.pid) / deliveries / 1000
    const after = sampleProcess(server.pid)
    const syscallsAfter = sampleSyscalls(server.pid)
    if (problems.failedReplies + problems.transportErrors > 0) throw new Error(`${name}: ${problems.lastError}`)
    return {
      cpuMicros: (after.cpuMicros - before.cpuMicros) / deliveries,
      systemMicros: (after.systemMicros - before.systemMicros) / deliveries,
      reads: (syscallsAfter.reads - syscallsBefore.reads) / deliveries,
      writes: (syscallsAfter.writes - syscallsBefore.writes) / deliveries,
      kiloInstructions
    }
  } finally {
    for (const client of clients) client.close()
    await server.stop()
  }
}

const results = new Map<ServerName, Figures[]>(servers.map((name) => [name, []]))
try {
  for (let round = 0; round < Number(values.repeat); round++) {
    // Each round in the other order, so that neither build always runs first.
    for (const name of round % 2 === 0 ? servers : [...servers].reverse()) {
      const figures = await measure(name)
      results.get(name)!.push(figures)
      const instructions = figures.kiloInstructions === undefined ? '' : `, ${figures.kiloInstructions.toFixed(2)}k instructions`
      console.log(`round ${round + 1}: ${SERVERS[name].label}: ${figures.cpuMicros.toFixed(2)} µs CPU (${figures.systemMicros.toFixed(2)} system)${instructions}, ` +
        `${figures.reads.toFixed(3)} reads and ${figures.writes.toFixed(3)} writes per delivery`)
    }
  }
} finally {
  counter?.remove()
}

const median = (list: number[]): number => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!
const first = servers[0]!
const figureOf = (list: Figures[]): number => median(list.map((figures) => figures.kiloInstructions ?? figures.cpuMicros))
const unit = counter === undefined ? 'µs of server CPU' : 'k instructions'
console.log(`\n${subscribers} subscribers × ${publishes} publishes, one at a time\n`)
console.log(`| server | ${unit} per delivery, median (runs) | × ${SERVERS[first].label} | system µs | reads | writes |`)
console.log('|---|---|---|---|---|---|')
for (const [name, list] of results) {
  const runs = list.map((figures) => (figures.kiloInstructions ?? figures.cpuMicros).toFixed(2)).join(', ')
  console.log(`| ${SERVERS[name].label} | ${figureOf(list).toFixed(2)} (${runs}) | ${(figureOf(list) / figureOf(results.get(first)!)).toFixed(2)}× | ` +
    `${median(list.map((figures) => figures.systemMicros)).toFixed(2)} | ${median(list.map((figures) => figures.reads)).toFixed(3)} | ${median(list.map((figures) => figures.writes)).toFixed(3)} |`)
}
