/**
 * Token auth end to end (lib/server/token-auth.ts through createServer's jwt settings,
 * issue 12): the real CometD client over long-polling and WebSocket is admitted, refused,
 * limited by its token's claims, and made to handshake again with a fresh token when its
 * token expires (C23, C26); raw peers for the Bearer header and callback-polling.
 */
import { once } from 'node:events'
import t from 'tap'
import type { CometD, Message as ClientMessage } from 'cometd'
import type { EndReason, ServerSession } from '../../../lib/index.ts'
import { HttpPeer, RecordingLogger, WsPeer, startServer } from '../../helpers.ts'
import type { Json } from '../../helpers.ts'
import { Inbox, newClient, publish, subscribe } from '../clients/cometd.ts'
import type { Transport } from '../clients/cometd.ts'
import { mint, newSecret, now } from '../../support/tokens.ts'

const transports: Transport[] = ['long-polling', 'websocket']

/** The handshake reply, successful or not, to a handshake carrying `token` in ext.auth.token. */
function handshakeWith (cometd: CometD, token: string): Promise<Json> {
  return new Promise(resolve => cometd.handshake({ ext: { auth: { token } } }, reply => resolve(reply as Json)))
}

/** Replies a listener got, awaited by count. */
class Replies {
  readonly #replies: Json[] = []
  #waiters: Array<() => void> = []

  readonly listener = (reply: ClientMessage): void => {
    this.#replies.push(reply as Json)
    for (const wake of this.#waiters.splice(0)) wake()
  }

  /** The `n`th reply (from 1), once it came. */
  async nth (n: number): Promise<Json> {
    while (this.#replies.length < n) await new Promise<void>(resolve => this.#waiters.push(resolve))
    return this.#replies[n - 1]!
  }
}

/** The subscribe reply, successful or not. */
function trySubscribe (cometd: CometD, channel: string): Promise<Json> {
  return new Promise(resolve => cometd.subscribe(channel, () => {}, reply => resolve(reply as Json)))
}

for (const transport of transports) {
  t.test(`${transport}: the CometD client with a token`, async t => {
    const secret = newSecret()
    const server = await startServer(t, { jwtSecret: secret, timeout: 60_000, maxSessionsPerBrowser: -1 })

    await t.test('C23 a valid token is admitted; its sub is the session\'s user', async t => {
      const cometd = newClient(server.url, transport)
      t.teardown(() => cometd.disconnect())
      const reply = await handshakeWith(cometd, await mint(secret, { sub: 'ada', exp: now() + 3600 }))
      t.match(reply, { successful: true })
      t.equal(cometd.getTransport()!.type, transport)
      t.equal(server.bayeux.getSession(cometd.getClientId()!)?.userId, 'ada')
    })

    await t.test('C23 a bad token is refused with reconnect none: the client stops', async t => {
      const cometd = newClient(server.url, transport)
      t.teardown(() => cometd.disconnect())
      let admitted = 0
      const count = (): void => { admitted++ }
      server.bayeux.on('handshake', count)
      t.teardown(() => server.bayeux.off('handshake', count))
      const reply = await handshakeWith(cometd, await mint(newSecret(), { sub: 'eve' }))
      t.match(reply, { successful: false, error: '403::handshake_denied', advice: { reconnect: 'none' } })
      t.ok(cometd.isDisconnected(), 'the client gives up')
      t.equal(admitted, 0, 'no session was made')
      const expired = await handshakeWith(newClient(server.url, transport), await mint(secret, { exp: now() - 5 }))
      t.match(expired, { successful: false, error: '403::handshake_denied', advice: { reconnect: 'none' } }, 'nor for an expired token')
    })

    await t.test('the token\'s claims limit subscribe and publish, with the policy\'s errors', async t => {
      const cometd = newClient(server.url, transport)
      t.teardown(() => cometd.disconnect())
      await handshakeWith(cometd, await mint(secret, { subscribe: ['/chat/*'], publish: ['/chat/room'] }))
      const inbox = new Inbox()
      await subscribe(cometd, '/chat/room', inbox.listener)
      t.match(await trySubscribe(cometd, '/news'), { successful: false, error: '403:denied_by_security_policy:subscribe_denied' })
      t.match(await trySubscribe(cometd, '/chat/**'), { successful: false, error: '403:denied_by_security_policy:subscribe_denied' }, 'a wider pattern than granted')
      t.match(await publish(cometd, '/chat/other', 'x'), { successful: false, error: '403:denied_by_security_policy:publish_denied' })
      t.match(await publish(cometd, '/chat/room', 'allowed'), { successful: true })
      await inbox.waitFor(1)
      t.same(inbox.data, ['allowed'])
    })

    await t.test('C26 when the token expires, the client handshakes again, with a fresh token from an extension', async t => {
      const cometd = newClient(server.url, transport)
      t.teardown(() => cometd.disconnect())
      // The application's extension puts its current token on every handshake, retries included.
      const tokens = [
        await mint(secret, { sub: 'ada', exp: now() + 3 }),
        await mint(secret, { sub: 'ada', exp: now() + 3600 })
      ]
      let sent = 0
      cometd.registerExtension('token', {
        outgoing (message: ClientMessage) {
          if (message.channel === '/meta/handshake') message.ext = { ...message.ext, auth: { token: tokens[Math.min(sent++, tokens.length - 1)] } }
          return message
        }
      })
      const handshakes = new Replies()
      cometd.addListener('/meta/handshake', handshakes.listener)
      const ended = new Promise<[ServerSession, EndReason]>(resolve => server.bayeux.on('disconnect', (session, reason) => {
        if (reason === 'token-expired') resolve([session, reason])
      }))
      const connectFailures: Json[] = []
      cometd.addListener('/meta/connect', reply => { if (!(reply as Json)['successful']) connectFailures.push(reply as Json) })

      cometd.handshake()
      const first = await handshakes.nth(1)
      t.match(first, { successful: true }, 'admitted with the first token')
      const [session, reason] = await ended
      t.equal(session.id, first['clientId'], 'its session ends')
      t.equal(reason, 'token-expired')
      const again = await handshakes.nth(2)
      t.match(again, { successful: true }, 'admitted again with the fresh token')
      t.not(again['clientId'], first['clientId'], 'as a new session')
      t.equal(server.bayeux.getSession(again['clientId'])?.userId, 'ada')
      t.match(connectFailures, [{ successful: false, error: '402::session_unknown', advice: { reconnect: 'handshake' } }], 'its connect was told to handshake again')
      t.equal(sent, 2, 'one handshake per token')
    })
  })
}

t.test('the token may come in an Authorization: Bearer header, of a request or of an upgrade', async t => {
  const secret = newSecret()
  const server = await startServer(t, { jwtSecret: secret })
  const authorization = `Bearer ${await mint(secret, { sub: 'header' })}`
  const peer = new HttpPeer(server.url)
  const [reply] = (await peer.post([{ id: '1', channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }], { headers: { authorization } })).messages
  t.match(reply, { successful: true })
  t.equal(server.bayeux.getSession(reply!['clientId'])?.userId, 'header')

  const socket = await WsPeer.open(server.url, { headers: { authorization } })
  t.teardown(() => socket.close())
  t.match(await socket.handshake(), { successful: true }, 'the WebSocket upgrade')
  const unauthorized = await WsPeer.open(server.url)
  t.teardown(() => unauthorized.close())
  t.match(await unauthorized.handshake(), { successful: false, error: '403::handshake_denied', advice: { reconnect: 'none' } }, 'an upgrade without one')
})

t.test('C26 callback-polling: a held connect is told to handshake again when the token expires', async t => {
  const secret = newSecret()
  const server = await startServer(t, { jwtSecret: secret, timeout: 60_000 })
  const peer = new HttpPeer(server.url)
  const jsonp = async (messages: Json[]): Promise<Json[]> => {
    const answer = await peer.get(`?jsonp=cb&message=${encodeURIComponent(JSON.stringify(messages))}`)
    return JSON.parse(answer.text.slice('/**/cb('.length, -2))
  }
  const [hello] = await jsonp([{ id: '1', channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['callback-polling'], ext: { auth: { token: await mint(secret, { exp: now() + 3 }) } } }])
  t.match(hello, { successful: true })
  const clientId = hello!['clientId']
  t.match(await jsonp([{ id: '2', clientId, channel: '/meta/connect', connectionType: 'callback-polling' }]), [{ successful: true }])
  const ended = once(server.bayeux, 'disconnect')
  const held = await jsonp([{ id: '3', clientId, channel: '/meta/connect', connectionType: 'callback-polling' }])
  t.same(held, [{ id: '3', channel: '/meta/connect', successful: false, error: '402::session_unknown', advice: { reconnect: 'handshake', interval: 0 } }])
  t.equal((await ended)[1], 'token-expired')
})

t.test('C26 a WebSocket session\'s held connect is answered on its socket when the token expires', async t => {
  const secret = newSecret()
  const server = await startServer(t, { jwtSecret: secret, timeout: 60_000 })
  const socket = await WsPeer.open(server.url, { headers: { authorization: `Bearer ${await mint(secret, { exp: now() + 3 })}` } })
  t.teardown(() => socket.close())
  await socket.connected()
  const id = socket.send({ channel: '/meta/connect', connectionType: 'websocket' })
  t.same(await socket.until(m => m['id'] === id), { id, channel: '/meta/connect', successful: false, error: '402::session_unknown', advice: { reconnect: 'handshake', interval: 0 } })
  const again = socket.send({ channel: '/meta/connect', connectionType: 'websocket' })
  t.match(await socket.until(m => m['id'] === again), { successful: false, error: '402::session_unknown', advice: { reconnect: 'handshake' } }, 'and so is the next one')
})

t.test('createServer: token refusals are logged once at warn; the application\'s policy is asked after the token', async t => {
  const secret = newSecret()
  const logger = new RecordingLogger()
  const server = await startServer(t, {
    jwtSecret: secret,
    jwtAudience: 'chat',
    jwtIssuer: 'https://id.example',
    logger: logger as never,
    policy: { canHandshake: session => session.userId !== 'mallory' }
  })
  const hello = (token: string) => new HttpPeer(server.url).handshake({ ext: { auth: { token } } })
  t.match(await hello(await mint(secret, { sub: 'ada', aud: 'chat', iss: 'https://id.example' })), { successful: true })
  t.match(await hello(await mint(secret, { sub: 'mallory', aud: 'chat', iss: 'https://id.example' })), { successful: false, error: '403::handshake_denied' }, 'the application refuses a valid token')
  t.same(logger.at('warn'), [], 'which is its business, not logged by the token check')
  t.match(await hello(await mint(secret, { sub: 'ada', aud: 'billing', iss: 'https://id.example' })), { successful: false, error: '403::handshake_denied' }, 'another audience')
  t.match(logger.at('warn'), [{ object: { reason: 'ERR_JWT_CLAIM_VALIDATION_FAILED', transport: 'long-polling' }, message: 'handshake denied: token refused: unexpected "aud" claim value' }])
})

t.test('createServer: jwt settings that cannot work are refused before listening', async t => {
  const rejects = (options: object, expected: { code: string, message: string | RegExp }, name: string) =>
    t.rejects(startServer(t, options), expected, name)
  await rejects({ jwtSecret: newSecret(), jwtPublicKey: '/x.pem' }, { code: 'BAYEUX_ERR_INVALID_OPTIONS', message: /jwtSecret cannot be given with jwtPublicKey/ }, 'both keys')
  await rejects({ jwtAudience: 'chat' }, { code: 'BAYEUX_ERR_INVALID_OPTIONS', message: 'Invalid options: jwtAudience needs jwtSecret or jwtPublicKey' }, 'an audience without a key')
  await rejects({ jwtSecret: 'short' }, { code: 'BAYEUX_ERR_INVALID_OPTIONS', message: /at least 32 bytes/ }, 'a short secret')
  await rejects({ jwtPublicKey: '/nonexistent/key.pem' }, { code: 'BAYEUX_ERR_UNUSABLE_KEY', message: /^jwtPublicKey: cannot read \/nonexistent\/key\.pem: ENOENT/ }, 'a missing key file')
  await rejects({ jwtPublicKey: new URL(import.meta.url).pathname }, { code: 'BAYEUX_ERR_UNUSABLE_KEY', message: /not a PEM public key/ }, 'a file that is no key')
})
