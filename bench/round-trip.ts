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
import { parseArgs } from 'node:util'
import { Agent, request } from 'undici'
import { coreLayout, pin } from './os/cpu-pinning.ts'
import { InstructionCounter } from './os/instruction-counter.ts'
import { SERVERS, type ServerName } from './servers/catalog.ts'
import { ServerProcess } from './servers/server-process.ts'

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: 'ours,baseline,raw-http,cometd' },
    requests: { type: 'string', default: '20000' },
    sessions: { type: 'string', default: '50' },
    repeat: { type: 'string', default: '3' },
    warmup: { type: 'string' },
    instructions: { type: 'boolean', default: false }
  }
})
const servers = values.server.split(',') as ServerName[]
const requests = Number(values.requests)
const warmup = Number(values.warmup ?? requests / 4)
const instructions = values.instructions
const sessions = Number(values.sessions)
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

const counter = instructions ? new InstructionCounter() : undefined

/** Server CPU (µs) or, with --instructions, thousands of instructions per round trip. */
async function measure (name: ServerName): Promise<number> {
  const server = await ServerProcess.start(SERVERS[name], 30_000, cores?.server, undefined, counter?.launcher)
  const agent = new Agent({ connections: sessions, pipelining: 1 })
  try {
    const url = server.url
    const peers = await Promise.all(Array.from({ length: sessions }, async () => {
      const { body, cookie } = await post(agent, url, undefined, { id: '0', channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] })
      const peer = { clientId: body[0].clientId, cookie }
      await post(agent, url, peer, { id: '1', channel: '/meta/connect', clientId: peer.clientId, connectionType: 'long-polling', advice: { timeout: 0 } })
      return peer
    }))
    await exchange(agent, url, peers, warmup) // JIT, pools
    if (counter !== undefined) {
      counter.start(server.pid)
      await exchange(agent, url, peers, requests)
      return counter.read(server.pid) / requests / 1000
    }
    const before = server.sample()
    await exchange(agent, url, peers, requests)
    const after = server.sample()
    return (after.cpuMicros - before.cpuMicros) / requests
  } finally {
    await agent.close()
    await server.stop()
  }
}

const unit = instructions ? 'k instructions' : 'µs of server CPU'
const results = new Map<ServerName, number[]>(servers.map((name) => [name, []]))
try {
  for (let round = 0; round < Number(values.repeat); round++) {
    // Each round in the other order, so that neither build always runs first.
    for (const name of round % 2 === 0 ? servers : [...servers].reverse()) {
      const figure = await measure(name)
      results.get(name)!.push(figure)
      console.log(`round ${round + 1}: ${SERVERS[name].label}: ${figure.toFixed(1)} ${unit} per round trip`)
    }
  }
} finally {
  counter?.remove()
}
const first = servers[0]!
const median = (list: number[]): number => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!
console.log(`\n| server | ${instructions ? 'k instructions' : 'µs'} per round trip, median (runs) | × ${SERVERS[first].label} |`)
console.log('|---|---|---|')
for (const [name, list] of results) {
  console.log(`| ${SERVERS[name].label} | ${median(list).toFixed(1)} (${list.map((value) => value.toFixed(1)).join(', ')}) | ${(median(list) / median(results.get(first)!)).toFixed(2)}× |`)
}
