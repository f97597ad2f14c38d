/**
 * /metrics and the health probes of createServer, scraped over real sockets after
 * traffic from the real CometD client over long-polling and WebSocket.
 */
import { createServer as createNetServer } from 'node:net'
import t from 'tap'
import { Agent, request } from 'undici'
import { Inbox, disconnect, handshake, newClient, publish, subscribe } from '../clients/cometd.ts'
import { HttpPeer, WsPeer, startServer } from '../../helpers.ts'
import { Scrape } from '../../support/prometheus-text.ts'

async function get (url: string): Promise<{ status: number, text: string, type: string | undefined }> {
  const answer = await request(url)
  return { status: answer.statusCode, text: await answer.body.text(), type: answer.headers['content-type'] as string | undefined }
}

async function scrape (url: string): Promise<Scrape> {
  const { status, text, type } = await get(url)
  if (status !== 200) throw new Error(`scrape answered ${status}`)
  if (type !== 'text/plain; version=0.0.4; charset=utf-8') throw new Error(`scrape type ${type}`)
  return new Scrape(text)
}

t.test('after CometD traffic over long-polling and WebSocket, /metrics on the main port counts it', async t => {
  const server = await startServer(t, { metrics: true })
  t.equal(server.metricsUrl, server.url.replace('/cometd', '/metrics'), 'on the main port')

  const polling = newClient(server.url, 'long-polling')
  const socket = newClient(server.url, 'websocket')
  await handshake(polling)
  await handshake(socket)
  const pollingInbox = new Inbox()
  const socketInbox = new Inbox()
  await subscribe(polling, '/room', pollingInbox.listener)
  await subscribe(socket, '/room', socketInbox.listener)
  await publish(polling, '/room', 'from long-polling')
  await publish(socket, '/room', 'from websocket')
  await pollingInbox.waitFor(2)
  await socketInbox.waitFor(2)

  let s = await scrape(server.metricsUrl!)
  t.equal(s.value('bayeux_sessions', { transport: 'long-polling' }), 1)
  t.equal(s.value('bayeux_sessions', { transport: 'websocket' }), 1)
  t.equal(s.value('bayeux_subscriptions'), 2)
  t.equal(s.value('bayeux_channels'), 1)
  for (const transport of ['long-polling', 'websocket']) {
    t.equal(s.value('bayeux_messages_received_total', { transport, type: 'handshake' }), 1, `one handshake over ${transport}`)
    t.equal(s.value('bayeux_messages_received_total', { transport, type: 'subscribe' }), 1)
    t.equal(s.value('bayeux_messages_received_total', { transport, type: 'publish' }), 1)
    t.ok(s.value('bayeux_messages_received_total', { transport, type: 'connect' })! >= 1, `connects over ${transport}`)
    t.equal(s.value('bayeux_messages_delivered_total', { transport }), 2, `both events delivered over ${transport}`)
  }
  t.ok(s.value('bayeux_connects_held')! <= 2, 'at most one held connect per client')
  t.equal(s.value('bayeux_reply_duration_seconds_count', { type: 'publish' }), 2)
  t.equal(s.value('bayeux_reply_duration_seconds_bucket', { type: 'publish', le: '+Inf' }), 2)
  t.ok(s.families.has('process_cpu_seconds_total'), 'with the process metrics')

  // Bad input and error replies, from raw peers.
  const raw = new HttpPeer(server.url)
  t.equal((await raw.post('not json')).status, 400)
  await raw.send({ channel: '/meta/connect', clientId: 'nobody', connectionType: 'long-polling' })
  const ws = await WsPeer.open(server.url)
  ws.socket.send(Buffer.from([1, 2, 3]))
  t.equal((await ws.closed).code, 1003)

  await disconnect(polling)
  await disconnect(socket)
  s = await scrape(server.metricsUrl!)
  t.equal(s.value('bayeux_bad_input_total', { reason: 'not_json' }), 1)
  t.equal(s.value('bayeux_bad_input_total', { reason: 'binary_frame' }), 1)
  t.equal(s.value('bayeux_errors_total', { code: '402' }), 1)
  t.equal(s.value('bayeux_messages_received_total', { transport: 'long-polling', type: 'disconnect' }), 1)
  t.equal(s.value('bayeux_messages_received_total', { transport: 'websocket', type: 'disconnect' }), 1)
  t.equal(s.sum('bayeux_sessions'), 0, 'both sessions ended')
  t.equal(s.value('bayeux_connects_held'), 0)
})

t.test('probes are on the main port; without metrics there is no /metrics', async t => {
  const server = await startServer(t)
  t.equal(server.metricsUrl, undefined)
  const base = new URL(server.url).origin
  t.equal((await get(`${base}/health/live`)).status, 200)
  t.equal((await get(`${base}/health/ready`)).status, 200)
  t.equal((await get(`${base}/metrics`)).status, 404)
})

t.test('metricsPort: /metrics and the probes on a listener of their own; ready turns 503 when the server closes', async t => {
  const server = await startServer(t, { metricsPort: 0 })
  const main = new URL(server.url)
  const metrics = new URL(server.metricsUrl!)
  t.equal(metrics.hostname, main.hostname, 'on the same host')
  t.not(metrics.port, main.port, 'on another port')
  t.equal(metrics.pathname, '/metrics')

  for (const path of ['/metrics', '/health/live', '/health/ready']) {
    t.equal((await get(`${main.origin}${path}`)).status, 404, `not ${path} on the main port`)
    t.equal((await get(`${metrics.origin}${path}`)).status, 200, `${path} on the metrics port`)
  }
  const peer = new HttpPeer(server.url)
  await peer.connected()
  t.equal((await scrape(server.metricsUrl!)).value('bayeux_sessions', { transport: 'long-polling' }), 1, 'the metrics are the main listener\'s')

  await server.bayeux.close()
  const ready = await get(`${metrics.origin}/health/ready`)
  t.equal(ready.status, 503, 'not ready once closing')
  t.equal((await get(`${metrics.origin}/health/live`)).status, 200, 'still live')
  await server.close()
  // A new connection: the pooled one was closed with the listener.
  const fresh = new Agent()
  t.teardown(() => fresh.close())
  await t.rejects(request(`${metrics.origin}/health/live`, { dispatcher: fresh }), { code: 'ECONNREFUSED' }, 'the metrics listener is closed too')
})

/** Listens on `port` of 127.0.0.1 (0: any free one) and closes again; resolves to the port. */
function listenOnce (port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer().once('error', reject)
    probe.listen(port, '127.0.0.1', () => {
      const bound = (probe.address() as { port: number }).port
      probe.close(() => resolve(bound))
    })
  })
}

t.test('a metrics port that is taken fails the start, and leaves the main port free', async t => {
  const first = await startServer(t, { metricsPort: 0 })
  const taken = Number(new URL(first.metricsUrl!).port)
  const port = await listenOnce(0)
  await t.rejects(startServer(t, { port, metricsPort: taken }), { code: 'EADDRINUSE' })
  t.equal(await listenOnce(port), port, 'the main listener was closed again')
})
