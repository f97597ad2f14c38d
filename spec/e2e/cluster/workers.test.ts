/**
 * `bin/bayeux-server --workers 2 --redis` (issue 10, lib/workers.ts): two node:cluster
 * workers behind one port, sharing their sessions through Redis. A raw client whose
 * every request comes on a new connection (node:cluster hands connections to the
 * workers in turn) shows a session created by one worker and carried on by the other;
 * the real CometD client then passes spec/e2e/clients/cometd-scenarios.ts through it. SIGTERM ends
 * the primary and its workers; without --redis, --workers is refused.
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { Client } from 'undici'
import { serveCli } from '../../support/cli-process.ts'
import type { CliProcess } from '../../support/cli-process.ts'
import { REDIS_URL, keysUnder, leftoverKeys, requireRedis, testPrefix } from '../../support/redis.ts'
import { disconnect, handshake, newClient } from '../clients/cometd.ts'
import { cometdScenarios } from '../clients/cometd-scenarios.ts'

type LogLine = Record<string, any>

/** The processes among `pids` that still exist (zombies included), by ps. */
function existing (pids: number[]): number[] {
  return ps(['-p', pids.join(',')])
}

/** The children of process `pid`, by ps. */
function childrenOf (pid: number): number[] {
  return ps(['--ppid', String(pid)])
}

function ps (selection: string[]): number[] {
  let out: string
  try {
    out = execFileSync('ps', [...selection, '-o', 'pid='], { encoding: 'utf8' })
  } catch {
    // ps exits 1 when it selects no process.
    return []
  }
  return out.split('\n').filter(line => line.trim() !== '').map(Number).sort((a, b) => a - b)
}

/**
 * Resolves to what `found` makes of the lines logged so far (the workers log on the
 * primary's standard output), once it makes anything of them; checked on each write.
 */
function untilLogged<T> (cli: CliProcess, found: (lines: LogLine[]) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const look = (): void => {
      const result = found(cli.logs())
      if (result === undefined) return
      cli.child.stdout!.off('data', look)
      resolve(result)
    }
    cli.child.stdout!.on('data', look)
    cli.exited.then(() => reject(new Error(`exited: ${cli.stderr()}`)), () => {})
    look()
  })
}

/** The pid of the process that logged `message` about session `clientId`, once it has. */
function loggedBy (cli: CliProcess, message: string, clientId: string, nth = 0): Promise<number> {
  return untilLogged(cli, lines => lines.filter(line => line['msg'] === message && line['clientId'] === clientId)[nth]?.['pid'])
}

// Started first: a process takes seconds to start on a busy machine, and this one needs nothing else.
const refused = serveCli(t, ['--workers', '2'])

if (await requireRedis(t)) {
  const prefix = testPrefix(t)
  const cli = serveCli(t, [
    '--workers', '2', '--redis', REDIS_URL, '--redis-prefix', prefix,
    // Debug: each worker logs, with its pid, the sessions it creates and those that move to it.
    '--log-level', 'debug', '--log-format', 'json',
    // cometd-nodejs-client keeps one cookie jar per host, so both clients look like one browser.
    '--timeout', '400', '--max-interval', '2000', '--max-sessions-per-browser', '-1',
    '--require', 'spec/e2e/cluster/echo-service.mjs'
  ])
  const url = await cli.url
  const primary = cli.child.pid!

  t.test('both workers listen on the one port the primary prints', async t => {
    const listening = await untilLogged(cli, lines => {
      const pids = lines.filter(line => typeof line['msg'] === 'string' && line['msg'].startsWith('Server listening at ')).map(line => [line['pid'], line['msg']])
      return pids.length >= 2 ? pids : undefined
    })
    t.same(listening.map(([pid]) => pid).sort((a, b) => a - b), childrenOf(primary), 'one line from each of the primary\'s two children')
    t.same(listening.map(([, message]) => message), Array(2).fill(`Server listening at ${new URL(url).origin}`), 'both at the address the primary printed')
  })

  t.test('a session created by one worker is carried on by the other', async t => {
    const post = async (messages: object[], cookie?: string): Promise<{ body: any[], cookie: string | undefined }> => {
      // A connection of its own: node:cluster gives each new connection to the next worker.
      const connection = new Client(new URL(url).origin)
      try {
        const response = await connection.request({
          path: new URL(url).pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(cookie !== undefined && { cookie }) },
          body: JSON.stringify(messages)
        })
        const setCookie = response.headers['set-cookie']
        return { body: await response.body.json() as any[], cookie: typeof setCookie === 'string' ? setCookie.split(';')[0] : cookie }
      } finally {
        await connection.close()
      }
    }
    const hello = await post([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }])
    const clientId: string = hello.body[0].clientId
    const { cookie } = hello
    const first = await post([{ channel: '/meta/connect', clientId, connectionType: 'long-polling' }], cookie)
    const subscribed = await post([{ channel: '/meta/subscribe', clientId, subscription: '/shared' }], cookie)
    const published = await post([{ channel: '/shared', clientId, data: 'across workers' }], cookie)
    const second = await post([{ channel: '/meta/connect', clientId, connectionType: 'long-polling' }], cookie)
    t.equal(first.body[0].successful, true, 'the first connect')
    t.equal(subscribed.body[0].successful, true, 'the subscribe')
    t.equal(published.body[0].successful, true, 'the publish')
    t.same(second.body.filter(m => m.channel === '/shared'), [{ channel: '/shared', data: 'across workers' }], 'the next connect carries the event once')
    t.equal(second.body.at(-1).successful, true)

    const workers = childrenOf(primary)
    const created = await loggedBy(cli, 'session created', clientId)
    const moved = await loggedBy(cli, 'session moved here', clientId)
    t.ok(workers.includes(created), `created by a worker (${created} of ${workers.join(', ')})`)
    t.ok(workers.includes(moved), `moved to a worker (${moved})`)
    t.not(moved, created, 'the first connect moved it to the other worker')
    t.equal(await loggedBy(cli, 'session moved here', clientId, 1), created, 'and the second connect back to the first')

    const bye = await post([{ channel: '/meta/disconnect', clientId }], cookie)
    t.equal(bye.body[0].successful, true, 'the disconnect')
  })

  t.test('the real CometD client over long-polling, two clients through the workers', async t => {
    const alice = newClient(url, 'long-polling')
    const bob = newClient(url, 'long-polling')
    t.teardown(() => { alice.disconnect(); bob.disconnect() })
    await handshake(alice)
    await handshake(bob)
    await cometdScenarios(t, { url, transport: 'long-polling', alice, bob })

    t.equal((await disconnect(alice)).successful, true, 'alice disconnects')
    t.equal((await disconnect(bob)).successful, true, 'bob disconnects')
  })

  t.test('when every session is gone, no session key is left in Redis', async t => {
    t.same(await leftoverKeys(prefix), [], 'no session, subscription or interest key is left; the rest expires by itself')
  })

  t.test('SIGTERM ends the primary and both workers', async t => {
    const workers = childrenOf(primary)
    t.equal(workers.length, 2, `two workers: ${workers.join(', ')}`)
    cli.child.kill('SIGTERM')
    t.same(await cli.exited, { code: 0, signal: null }, 'the primary exits with status 0')
    t.same(existing(workers), [], 'no worker process is left')
    t.same(await leftoverKeys(prefix), [], 'both workers left the cluster: nothing of theirs is left in Redis')
    t.notOk((await keysUnder(prefix)).includes(`${prefix}nodes`), 'not even their heartbeats')
  })
}

t.test('--workers 2 without --redis is refused with status 2', async t => {
  t.same(await refused.exited, { code: 2, signal: null })
  t.match(refused.stderr(), /^bayeux-server: --workers: .*redis/m, 'the message names --workers and what it needs')
})
