/**
 * spec/support/nodes.ts: bin/bayeux-server processes (memory engine) started alike, put
 * behind spec/support/haproxy.ts with its check on `/health/live`; one is killed and
 * replaced on its port. Runs dist/: `npm run build` first when running this file alone.
 */
import t from 'tap'
import { Client } from 'undici'
import { HttpPeer } from '../../helpers.ts'
import type { Json } from '../../helpers.ts'
import { Haproxy, requireHaproxy } from '../../support/haproxy.ts'
import { Nodes } from '../../support/nodes.ts'

/** `count` handshakes on one connection to `url`; their replies. */
async function handshakes (url: string, count: number): Promise<Json[]> {
  const { origin, pathname } = new URL(url)
  const client = new Client(origin, { pipelining: 1 })
  try {
    const replies: Json[] = []
    for (let i = 0; i < count; i++) {
      const { body } = await client.request({
        method: 'POST',
        path: pathname,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }])
      })
      replies.push(...await body.json() as Json[])
    }
    return replies
  } finally {
    await client.close()
  }
}

t.test('three nodes with shared arguments behind the balancer', async t => {
  if (!requireHaproxy(t)) return
  const nodes = await Nodes.start(t, 3, ['--path', '/bayeux'])
  const haproxy = await Haproxy.start(t, nodes.addresses, { check: { path: '/health/live' } })
  const balanced = `${haproxy.url}/bayeux`

  await t.test('each on a port of its own, served as the shared arguments say', async t => {
    t.equal(nodes.urls.length, 3)
    t.ok(nodes.urls.every(url => /^http:\/\/127\.0\.0\.1:\d+\/bayeux$/.test(url)), nodes.urls.join(' '))
    t.equal(new Set(nodes.addresses).size, 3)
    for (const url of nodes.urls) t.match(await new HttpPeer(url).handshake(), { successful: true }, `${url} answers`)
  })

  await t.test('balanced request by request', async t => {
    const before = await haproxy.requests()
    const replies = await handshakes(balanced, 6)
    t.ok(replies.every(reply => reply['successful'] === true), 'every handshake through the balancer succeeds')
    const after = await haproxy.requests()
    t.same(after.map((requests, i) => requests - before[i]!), [2, 2, 2], 'two handshakes to each node')
  })

  await t.test('a node killed with SIGKILL leaves the rotation; its replacement serves on the same URL', async t => {
    const first = nodes.process(1)
    t.same(await nodes.kill(1), { code: null, signal: 'SIGKILL' })
    await haproxy.until(1, 'DOWN')
    const replies = await handshakes(balanced, 4)
    t.ok(replies.every(reply => reply['successful'] === true), 'the live nodes answer every handshake')

    const url = await nodes.restart(1)
    t.equal(url, nodes.urls[1], 'the replacement has the URL of the node it replaces')
    t.not(nodes.process(1).child.pid, first.child.pid, 'in a new process')
    t.match(await new HttpPeer(url).handshake(), { successful: true }, 'with the shared arguments')
    await haproxy.until(1, 'UP')
    await Promise.all([nodes.kill(0), nodes.kill(2)])
    await haproxy.until(0, 'DOWN')
    await haproxy.until(2, 'DOWN')
    t.match(await handshakes(balanced, 2), [{ successful: true }, { successful: true }], 'the replacement alone answers through the balancer')
    await t.rejects(nodes.restart(1), /still runs/, 'a running node is not replaced')
  })
})
