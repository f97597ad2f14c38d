/**
 * spec/support/haproxy.ts, the balancer of the cluster tests: plain node:http servers
 * behind it. What the cluster tests rely on: one client's consecutive requests, on one
 * keep-alive connection, reach the nodes in turn; a node taken out of rotation (by hand,
 * or by its health check once it is dead) gets nothing until it is back; WebSockets pass.
 */
import t from 'tap'
import type { Test } from 'tap'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { Client } from 'undici'
import { WebSocketServer } from 'ws'
import WebSocket from 'ws'
import { Haproxy, requireHaproxy } from '../../support/haproxy.ts'

/** A node:http server on 127.0.0.1 that answers every request with its own name. */
class Backend {
  readonly name: string
  server: Server
  port = 0
  /** Requests received, health checks aside. */
  requests = 0
  /** What `GET /health` answers. */
  healthStatus = 200

  constructor (t: Test, name: string) {
    this.name = name
    this.server = this.#make()
    t.teardown(() => this.close())
  }

  get address (): string {
    return `127.0.0.1:${this.port}`
  }

  async listen (port = 0): Promise<void> {
    if (!this.server.listening) this.server = this.#make()
    await new Promise<void>(resolve => this.server.listen(port, '127.0.0.1', resolve))
    this.port = (this.server.address() as { port: number }).port
  }

  /** Stops listening and drops every connection, as a dead process would. */
  async close (): Promise<void> {
    this.server.closeAllConnections()
    await new Promise(resolve => this.server.close(resolve))
  }

  #make (): Server {
    const server = createServer((request, response) => {
      if (request.url === '/health') {
        response.statusCode = this.healthStatus
        response.end()
        return
      }
      this.requests++
      response.end(this.name)
    })
    const sockets = new WebSocketServer({ server })
    sockets.on('connection', socket => socket.on('message', data => socket.send(`${this.name}: ${String(data)}`)))
    return server
  }
}

async function backends (t: Test, count: number): Promise<Backend[]> {
  const all = Array.from({ length: count }, (_, i) => new Backend(t, `b${i}`))
  await Promise.all(all.map(backend => backend.listen()))
  return all
}

/** `count` sequential GETs on `client`; the names of the backends that answered, in order. */
async function answers (client: Client, count: number): Promise<string[]> {
  const names: string[] = []
  for (let i = 0; i < count; i++) {
    const { statusCode, body } = await client.request({ method: 'GET', path: `/request/${i}` })
    const text = await body.text()
    if (statusCode !== 200) throw new Error(`HTTP ${statusCode}: ${text}`)
    names.push(text)
  }
  return names
}

/** An undici client of `url` that holds one keep-alive connection at most. */
function oneConnection (t: Test, url: string): Client {
  const client = new Client(url, { pipelining: 1, keepAliveTimeout: 60_000 })
  t.teardown(() => client.close())
  return client
}

t.test('six requests on one keep-alive connection reach three nodes two by two, in turn', async t => {
  if (!requireHaproxy(t)) return
  const nodes = await backends(t, 3)
  const haproxy = await Haproxy.start(t, nodes.map(node => node.address))
  const client = oneConnection(t, haproxy.url)

  const names = await answers(client, 6)
  t.equal(await haproxy.clientConnections(), 1, 'the balancer accepted a single client connection')
  t.ok(names.every((name, i) => i === 0 || name !== names[i - 1]), `no two consecutive requests on one node: ${names.join(' ')}`)
  t.same(nodes.map(node => node.requests), [2, 2, 2], 'each node counted two requests')
  t.same(await haproxy.requests(), [2, 2, 2], 'HAProxy counted two requests to each node')
  t.same((await haproxy.stats()).map(node => node.status), ['UP', 'UP', 'UP'])
})

t.test('a node disabled by hand gets nothing until enabled again', async t => {
  if (!requireHaproxy(t)) return
  const nodes = await backends(t, 3)
  const haproxy = await Haproxy.start(t, nodes.map(node => node.address))
  const client = oneConnection(t, haproxy.url)

  await haproxy.disable(1)
  t.same((await haproxy.stats())[1]?.status, 'MAINT')
  t.same(new Set(await answers(client, 4)), new Set(['b0', 'b2']), 'requests alternate between the two others')
  t.equal(nodes[1]!.requests, 0, 'the disabled node got none')

  await haproxy.enable(1)
  await haproxy.until(1, 'UP')
  t.same(new Set(await answers(client, 3)), new Set(['b0', 'b1', 'b2']), 'back in rotation')
})

t.test('a dead node leaves the rotation by its TCP check, and comes back on the same port', async t => {
  if (!requireHaproxy(t)) return
  const nodes = await backends(t, 3)
  const haproxy = await Haproxy.start(t, nodes.map(node => node.address))
  const client = oneConnection(t, haproxy.url)

  await nodes[2]!.close()
  await haproxy.until(2, 'DOWN')
  t.same(new Set(await answers(client, 4)), new Set(['b0', 'b1']), 'the two live nodes answer everything')

  await nodes[2]!.listen(nodes[2]!.port)
  await haproxy.until(2, 'UP')
  t.same(new Set(await answers(client, 3)), new Set(['b0', 'b1', 'b2']), 'the restarted node is back in rotation')
})

t.test('an HTTP check path: a node that answers it with 503 is down although it accepts connections', async t => {
  if (!requireHaproxy(t)) return
  const nodes = await backends(t, 2)
  const haproxy = await Haproxy.start(t, nodes.map(node => node.address), { check: { path: '/health' } })

  nodes[0]!.healthStatus = 503
  await haproxy.until(0, 'DOWN')
  const client = oneConnection(t, haproxy.url)
  t.same(await answers(client, 3), ['b1', 'b1', 'b1'])

  nodes[0]!.healthStatus = 200
  await haproxy.until(0, 'UP')
})

t.test('a WebSocket passes through, and stays on the node it reached', async t => {
  if (!requireHaproxy(t)) return
  const nodes = await backends(t, 2)
  const haproxy = await Haproxy.start(t, nodes.map(node => node.address))

  const socket = new WebSocket(haproxy.url.replace(/^http/, 'ws') + '/socket')
  t.teardown(() => socket.terminate())
  const echoes: string[] = []
  socket.on('message', data => echoes.push(String(data)))
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))
  for (const text of ['one', 'two', 'three']) {
    const echoed = new Promise(resolve => socket.once('message', resolve))
    socket.send(text)
    await echoed
  }
  const node = echoes[0]!.split(':')[0]
  t.same(echoes, [`${node}: one`, `${node}: two`, `${node}: three`], 'every frame answered by the node of the upgrade')
  t.same((await haproxy.requests()).reduce((sum, requests) => sum + requests, 0), 1, 'one HTTP request: the upgrade')
})
