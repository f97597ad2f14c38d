/**
 * Token auth (lib/server/token-auth.ts) without sockets: which tokens admit a handshake
 * (docs/protocol.md §7.4, C23), where the token is taken from, what the `sub`, `subscribe`
 * and `publish` claims do, how the application's policy is asked after the token, and how
 * a session ends when its token expires (C26). Tokens are minted here with jose.
 */
import { once } from 'node:events'
import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import type { Test } from 'tap'
import { UnsecuredJWT } from 'jose'
import type { KeyObject } from 'node:crypto'
import type { Logger } from '../../lib/logger.ts'
import type { EndReason, Session } from '../../lib/server/session.ts'
import type { SecurityPolicy } from '../../lib/server/security.ts'
import { tokenAuth } from '../../lib/server/token-auth.ts'
import type { TokenAuthOptions } from '../../lib/server/token-auth.ts'
import type { Message, Reply } from '../../lib/protocol/message.ts'
import { CoreHarness, flushed, keepingAlive } from '../support/core-harness.ts'
import { FakePushLink, FakeRequestLink } from '../support/fake-links.ts'
import { mint, newSecret, now, p256Keys, rsaKeys } from '../support/tokens.ts'

const DENIED = { channel: '/meta/handshake', successful: false, error: '403::handshake_denied', advice: { reconnect: 'none' } }

/** A core whose policy is tokenAuth(`options`), logging to the harness's log like the core. */
async function serverWith (t: Test, options: Omit<TokenAuthOptions, 'logger'>, core = {}): Promise<CoreHarness> {
  const made: { h?: CoreHarness } = {}
  const logger: Logger = {
    info: (object, message) => made.h!.log.info(object, message),
    warn: (object, message) => made.h!.log.warn(object, message),
    error: (object, message) => made.h!.log.error(object, message),
    debug: (object, message) => made.h!.log.debug(object, message)
  }
  made.h = await CoreHarness.start(t, { timesync: false, ...core, policy: tokenAuth({ ...options, logger }) })
  return made.h
}

function handshake (h: CoreHarness, ext?: unknown): Message {
  return { id: h.nextId(), channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling', 'websocket'], ...(ext !== undefined && { ext: ext as Message['ext'] }) }
}

/** The handshake reply to a token sent in ext.auth.token. */
function withToken (h: CoreHarness, token: unknown, link: FakeRequestLink | FakePushLink = new FakeRequestLink()): Promise<Reply> {
  return h.reply(link, handshake(h, { auth: { token } }))
}

t.test('C23 a token signed as configured admits the handshake; its sub becomes session.userId', async t => {
  const secret = newSecret()
  const rsa = rsaKeys()
  const p256 = p256Keys()
  const cases: Array<[string, TokenAuthOptions, string | Uint8Array | KeyObject]> = [
    ['HS256, secret as text', { secret }, secret],
    ['HS256, secret as bytes', { secret: new TextEncoder().encode(secret) }, secret],
    ['RS256, public key as PEM', { publicKey: rsa.publicPem }, rsa.privateKey],
    ['ES256, public key as PEM', { publicKey: p256.publicPem }, p256.privateKey],
    ['ES256, public key as a KeyObject', { publicKey: p256.publicKey }, p256.privateKey]
  ]
  for (const [name, options, signingKey] of cases) {
    const h = await serverWith(t, options)
    const reply = await withToken(h, await mint(signingKey, { sub: 'ada', exp: now() + 3600 }))
    t.match(reply, { successful: true, clientId: String }, name)
    t.equal(h.session(reply.clientId!).userId, 'ada', `${name}: sub is the user`)
    t.same(h.log.lines.filter(line => line.level !== 'debug'), [], `${name}: nothing logged but the session's life at debug`)
  }
})

t.test('C23 every bad token is refused with 403::handshake_denied, reconnect none, logged once at warn', async t => {
  const secret = newSecret()
  const rsa = rsaKeys()
  const p256 = p256Keys()
  const otherRsa = rsaKeys()
  const cases: Array<[string, TokenAuthOptions, () => Promise<unknown>, string]> = [
    ['no token at all', { secret }, async () => undefined, 'token_missing'],
    ['a token that is not a string', { secret }, async () => 42, 'token_malformed'],
    ['not a JWT', { secret }, async () => 'not-a-jwt', 'ERR_JWS_INVALID'],
    ['an empty token', { secret }, async () => '', 'ERR_JWS_INVALID'],
    ['unsigned (alg none)', { secret }, async () => new UnsecuredJWT({ sub: 'eve' }).encode(), 'ERR_JOSE_ALG_NOT_ALLOWED'],
    ['HS256 with another secret', { secret }, () => mint(newSecret(), { sub: 'eve' }), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'],
    ['a tampered payload', { secret }, async () => {
      const [header, , signature] = (await mint(secret, { sub: 'eve' })).split('.')
      return [header, Buffer.from(JSON.stringify({ sub: 'admin' })).toString('base64url'), signature].join('.')
    }, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'],
    ['RS256 by another key', { publicKey: rsa.publicPem }, () => mint(otherRsa.privateKey, { sub: 'eve' }), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'],
    ['ES256 where the key is RSA', { publicKey: rsa.publicPem }, () => mint(p256.privateKey, { sub: 'eve' }), 'ERR_JOSE_ALG_NOT_ALLOWED'],
    ['RS256 where the key is P-256', { publicKey: p256.publicPem }, () => mint(rsa.privateKey, { sub: 'eve' }), 'ERR_JOSE_ALG_NOT_ALLOWED'],
    ['HS256 keyed with the public key\'s PEM (algorithm confusion)', { publicKey: rsa.publicPem }, () => mint(rsa.publicPem, { sub: 'eve' }), 'ERR_JOSE_ALG_NOT_ALLOWED'],
    ['PS256 by the right RSA key', { publicKey: rsa.publicPem }, () => mint(rsa.privateKey, { sub: 'eve' }, 'PS256'), 'ERR_JOSE_ALG_NOT_ALLOWED'],
    ['HS512 by the right secret', { secret }, () => mint(secret, { sub: 'eve' }, 'HS512'), 'ERR_JOSE_ALG_NOT_ALLOWED'],
    ['expired', { secret }, () => mint(secret, { exp: now() - 10 }), 'ERR_JWT_EXPIRED'],
    ['expiring this very second', { secret }, () => mint(secret, { exp: now() }), 'ERR_JWT_EXPIRED'],
    ['not yet valid (nbf in the future)', { secret }, () => mint(secret, { nbf: now() + 10 }), 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['another audience', { secret, audience: 'chat' }, () => mint(secret, { aud: 'billing' }), 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['no audience where one is required', { secret, audience: 'chat' }, () => mint(secret, {}), 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['another issuer', { secret, issuer: 'https://id.example' }, () => mint(secret, { iss: 'https://evil.example' }), 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['no issuer where one is required', { secret, issuer: 'https://id.example' }, () => mint(secret, {}), 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['exp that is not a number', { secret }, () => mint(secret, { exp: 'tomorrow' as unknown as number }), 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['sub that is not a string', { secret }, () => mint(secret, { sub: 7 as unknown as string }), 'token_claims_invalid'],
    ['subscribe that is not a list', { secret }, () => mint(secret, { subscribe: '/chat/**' }), 'token_claims_invalid'],
    ['publish with an invalid pattern', { secret }, () => mint(secret, { publish: ['/chat/**/x'] }), 'token_claims_invalid'],
    ['publish with a non-string', { secret }, () => mint(secret, { publish: [1] }), 'token_claims_invalid']
  ]
  for (const [name, options, token, reason] of cases) {
    const h = await serverWith(t, options)
    const sent = await token()
    const reply = await h.reply(new FakeRequestLink(), handshake(h, sent === undefined ? undefined : { auth: { token: sent } }))
    t.match(reply, DENIED, name)
    t.notOk('clientId' in reply, `${name}: no clientId`)
    t.equal(h.core.registry.size, 0, `${name}: no session`)
    const warnings = h.log.at('warn')
    t.match(warnings, [{ object: { transport: 'long-polling', remoteAddress: '192.0.2.1', reason }, message: /^handshake denied: / }], `${name}: logged once, with why`)
    t.notOk(typeof sent === 'string' && sent.length > 0 && JSON.stringify(warnings).includes(sent), `${name}: the token is not logged`)
  }
})

t.test('clockTolerance allows that much skew on exp and nbf, and no more', async t => {
  const secret = newSecret()
  const h = await serverWith(t, { secret, clockTolerance: 30_000 })
  t.match(await withToken(h, await mint(secret, { exp: now() - 10 })), { successful: true }, 'expired 10 s ago')
  t.match(await withToken(h, await mint(secret, { nbf: now() + 10 })), { successful: true }, 'valid in 10 s')
  t.match(await withToken(h, await mint(secret, { exp: now() - 60 })), DENIED, 'expired a minute ago')
  t.match(await withToken(h, await mint(secret, { nbf: now() + 60 })), DENIED, 'valid in a minute')

  const exp = now() + 100
  const reply = await withToken(h, await mint(secret, { exp }))
  t.equal(h.session(reply.clientId!).tokenExpiresAt, exp * 1000 + 30_000, 'the session ends once exp and the tolerance have passed')
})

t.test('a token without exp is accepted, and its session does not end with it', async t => {
  const secret = newSecret()
  const h = await serverWith(t, { secret })
  const reply = await withToken(h, await mint(secret, { sub: 'forever' }))
  t.match(reply, { successful: true })
  t.equal(h.session(reply.clientId!).tokenExpiresAt, undefined)
  t.equal(h.core.registry.tokenExpiries.size, 0, 'nothing scheduled')
  t.equal(h.session(reply.clientId!).userId, 'forever')
  const anonymous = await withToken(h, await mint(secret, {}))
  t.equal(h.session(anonymous.clientId!).userId, undefined, 'no sub: no user')
})

t.test('audience and issuer are checked when configured; a listed aud may name it among others', async t => {
  const secret = newSecret()
  const h = await serverWith(t, { secret, audience: 'chat', issuer: 'https://id.example' })
  t.match(await withToken(h, await mint(secret, { aud: 'chat', iss: 'https://id.example' })), { successful: true })
  t.match(await withToken(h, await mint(secret, { aud: ['billing', 'chat'], iss: 'https://id.example' })), { successful: true })
  t.match(await withToken(h, await mint(secret, { aud: 'chat', iss: 'https://id.example/' })), DENIED, 'issuers compare exactly')
})

t.test('the token comes from ext.auth.token, else from Authorization: Bearer of the request or upgrade', async t => {
  const secret = newSecret()
  const h = await serverWith(t, { secret })
  const good = await mint(secret, { sub: 'bearer' })
  const bad = await mint(newSecret(), { sub: 'bearer' })
  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

  const overHttp = await h.reply(new FakeRequestLink(bearer(good)), handshake(h))
  t.match(overHttp, { successful: true }, 'the HTTP request\'s header')
  t.equal(h.session(overHttp.clientId!).userId, 'bearer')
  t.match(await h.reply(new FakePushLink(bearer(good)), handshake(h)), { successful: true }, 'the WebSocket upgrade\'s header')
  t.match(await h.reply(new FakeRequestLink({ headers: { authorization: `bearer  ${good}` } }), handshake(h)), { successful: true }, 'the scheme in any case')
  t.match(await h.reply(new FakeRequestLink(bearer(good)), handshake(h, { auth: { token: bad } })), DENIED, 'ext.auth.token wins over the header')
  t.match(await h.reply(new FakeRequestLink(bearer(bad)), handshake(h, { auth: { token: good } })), { successful: true }, 'whatever the header says')
  t.match(await h.reply(new FakeRequestLink({ headers: { authorization: `Basic ${good}` } }), handshake(h)), DENIED, 'another scheme is no token')
  t.match(await h.reply(new FakeRequestLink(bearer(good)), handshake(h, { auth: {} })), { successful: true }, 'ext.auth without a token: the header')
  t.match(h.log.at('warn').map(line => (line.object as { reason: string }).reason), ['ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'token_missing'])
})

t.test('the subscribe and publish claims limit broadcast channels, with the policy\'s 403 errors', async t => {
  const secret = newSecret()
  const h = await serverWith(t, { secret })
  const link = new FakeRequestLink()
  const token = await mint(secret, { subscribe: ['/chat/*', '/news/**', '/exact'], publish: ['/chat/room'] })
  const clientId = (await withToken(h, token, link)).clientId!
  const subscribe = async (subscription: string) => (await h.reply(link, h.subscribe(clientId, subscription))).error ?? 'ok'
  const publish = async (channel: string) => (await h.reply(link, h.publish(clientId, channel, 1))).error ?? 'ok'
  const subscribeDenied = '403:denied_by_security_policy:subscribe_denied'
  const publishDenied = '403:denied_by_security_policy:publish_denied'

  t.same(await subscribe('/chat/a'), 'ok', '/chat/* covers /chat/a')
  t.same(await subscribe('/chat/*'), 'ok', '/chat/* covers itself')
  t.same(await subscribe('/chat/**'), subscribeDenied, '/chat/* does not cover /chat/**')
  t.same(await subscribe('/chat/a/b'), subscribeDenied, 'nor a deeper channel')
  t.same(await subscribe('/chat'), subscribeDenied, 'nor its parent')
  t.same(await subscribe('/news/a/b'), 'ok', '/news/** covers any depth')
  t.same(await subscribe('/news/a/*'), 'ok', 'and patterns below it')
  t.same(await subscribe('/news/**'), 'ok', 'and itself')
  t.same(await subscribe('/newsroom'), subscribeDenied, 'a longer name is another channel')
  t.same(await subscribe('/exact'), 'ok')
  t.same(await subscribe('/exact/more'), subscribeDenied)
  t.same(await subscribe('/**'), subscribeDenied, 'nothing covers everything')
  t.same(await subscribe('/service/echo'), 'ok', 'service channels are not limited')
  t.same(await publish('/chat/room'), 'ok')
  t.same(await publish('/chat/other'), publishDenied)
  t.same(await publish('/news/a'), publishDenied, 'subscribe and publish are separate lists')
  t.same(await publish('/service/anything'), 'ok', 'service channels are not limited')
  t.same([...h.session(clientId).subscriptions].sort(), ['/chat/*', '/chat/a', '/exact', '/news/**', '/news/a/*', '/news/a/b'])

  const empty = (await withToken(h, await mint(secret, { subscribe: [], publish: [] }), link)).clientId!
  t.match(await h.reply(link, h.subscribe(empty, '/chat/a')), { error: subscribeDenied }, 'an empty list allows nothing')
  t.match(await h.reply(link, h.publish(empty, '/chat/a', 1)), { error: publishDenied })
  t.match(await h.reply(link, h.publish(empty, '/service/x', 1)), { successful: true })

  const unlimited = (await withToken(h, await mint(secret, {}), link)).clientId!
  t.match(await h.reply(link, h.subscribe(unlimited, '/**')), { successful: true }, 'no claim: no limit from the token')
  t.match(await h.reply(link, h.publish(unlimited, '/any/where', 1)), { successful: true })
})

t.test('the application\'s policy is asked after the token, with session.userId set', async t => {
  const secret = newSecret()
  const asked: string[] = []
  const policy: SecurityPolicy = {
    canHandshake (session, message) {
      asked.push(`handshake ${session.userId}`)
      return message.ext?.['banned'] !== true
    },
    async canCreate (session, channel) {
      asked.push(`create ${channel}`)
      return true
    },
    canSubscribe (session, channel) {
      asked.push(`subscribe ${channel}`)
      return channel !== '/chat/secret'
    },
    async canPublish (session, channel) {
      asked.push(`publish ${channel}`)
      return session.userId === 'ada'
    }
  }
  const h = await serverWith(t, { secret, policy })
  const link = new FakeRequestLink()
  const token = await mint(secret, { sub: 'ada', subscribe: ['/chat/*'] })

  t.match(await h.reply(link, handshake(h, { auth: { token: await mint(newSecret()) } })), DENIED)
  t.same(asked, [], 'a bad token never reaches the application')
  t.match(await h.reply(link, handshake(h, { auth: { token }, banned: true })), DENIED, 'the application may still refuse')
  const clientId = (await withToken(h, token, link)).clientId!
  t.same(asked.splice(0), ['handshake ada', 'handshake ada'])
  t.same(h.log.at('warn').length, 1, 'only the token\'s refusal is logged by tokenAuth')

  t.match(await h.reply(link, h.subscribe(clientId, '/chat/a')), { successful: true })
  t.match(await h.reply(link, h.subscribe(clientId, '/chat/secret')), { error: '403:denied_by_security_policy:subscribe_denied' }, 'the application refuses what the token allows')
  t.match(await h.reply(link, h.subscribe(clientId, '/news/a')), { error: '403:denied_by_security_policy:subscribe_denied' }, 'the token refuses')
  t.match(await h.reply(link, h.publish(clientId, '/any', 1)), { successful: true })
  t.same(asked, ['create /chat/a', 'subscribe /chat/a', 'create /chat/secret', 'subscribe /chat/secret', 'create /news/a', 'create /any', 'publish /any'],
    'canCreate is the application\'s; canSubscribe is asked only when the token allows')
})

t.test('without an application canCreate, the policy has none (the core skips the step)', async t => {
  t.equal(tokenAuth({ secret: newSecret() }).canCreate, undefined)
  t.type(tokenAuth({ secret: newSecret(), policy: { canCreate: () => true } }).canCreate, 'function')
})

t.test('a session no tokenAuth admitted is refused everything (fail closed)', async t => {
  const policy = tokenAuth({ secret: newSecret() })
  const stranger = {} as Session
  t.equal(policy.canSubscribe!(stranger, '/a', { channel: '/meta/subscribe' }), false)
  t.equal(policy.canPublish!(stranger, '/a', { channel: '/a' }), false)
})

t.test('C26 when the token expires, a held long-polling connect gets 402 with reconnect handshake', async t => {
  const secret = newSecret()
  const h = await serverWith(t, { secret }, { timeout: 60_000 })
  const reasons: EndReason[] = []
  h.events.on('disconnect', (_session, reason) => reasons.push(reason))
  const link = new FakeRequestLink()
  const clientId = (await withToken(h, await mint(secret, { exp: now() + 3600 }), link)).clientId!
  t.match(await h.reply(link, h.connect(clientId)), { successful: true })
  t.equal(h.core.registry.tokenExpiries.size, 1, 'its end is scheduled')
  const { responder } = h.send(link, [h.connect(clientId, { id: 'held' })])
  await flushed()
  t.same(responder.answers, [], 'held')

  h.session(clientId).tokenExpired()
  t.same((await responder.answered).replies, [{ id: 'held', channel: '/meta/connect', successful: false, error: '402::session_unknown', advice: { reconnect: 'handshake', interval: 0 } }])
  t.same(reasons, ['token-expired'], 'the disconnect event says why')
  t.equal(h.core.registry.size, 0)
  t.equal(h.core.registry.tokenExpiries.size, 0)
  t.match(await h.reply(link, h.connect(clientId)), { successful: false, error: '402::session_unknown', advice: { reconnect: 'handshake' } }, 'and so does any later connect')
})

t.test('C26 when the token expires, a WebSocket session gets 402 on its held connect, or on its next one', async t => {
  const secret = newSecret()
  const h = await serverWith(t, { secret }, { timeout: 60_000 })
  const link = new FakePushLink()
  const held = (await withToken(h, await mint(secret, { exp: now() + 3600 }), link)).clientId!
  await h.reply(link, h.connect(held))
  const { responder } = h.send(link, [h.connect(held, { id: 'held' })])
  await flushed()
  h.session(held).tokenExpired()
  t.match((await responder.answered).replies, [{ id: 'held', successful: false, error: '402::session_unknown', advice: { reconnect: 'handshake' } }], 'the held connect, written on its socket')
  t.same(link.pushed, [], 'no disconnect event is pushed: the client is to handshake again, not stop')

  const between = new FakePushLink()
  const idle = (await withToken(h, await mint(secret, { exp: now() + 3600 }), between)).clientId!
  await h.reply(between, h.connect(idle))
  h.session(idle).tokenExpired()
  t.same(between.pushed, [])
  t.match(await h.reply(between, h.connect(idle)), { successful: false, error: '402::session_unknown', advice: { reconnect: 'handshake', interval: 0 } }, 'its next connect')
})

t.test('the session ends by itself when exp passes; ending otherwise cancels that', async t => {
  const secret = newSecret()
  const h = await serverWith(t, { secret })
  const link = new FakeRequestLink()
  const ended = once(h.events, 'disconnect')
  const clientId = (await withToken(h, await mint(secret, { exp: now() + 2 }), link)).clientId!
  const [session, reason] = await keepingAlive(ended)
  t.equal(session.id, clientId)
  t.equal(reason, 'token-expired')
  t.equal(h.core.registry.size, 0)

  const other = (await withToken(h, await mint(secret, { exp: now() + 3600 }), link)).clientId!
  t.equal(h.core.registry.tokenExpiries.size, 1)
  await h.reply(link, h.disconnect(other))
  t.equal(h.core.registry.tokenExpiries.size, 0, 'a session that ended is not kept until its token expires')
})

t.test('a refused handshake schedules nothing', async t => {
  const secret = newSecret()
  const h = await serverWith(t, { secret, policy: { canHandshake: () => false } })
  t.match(await withToken(h, await mint(secret, { exp: now() + 3600 })), DENIED)
  t.equal(h.core.registry.tokenExpiries.size, 0)
})

t.test('tokenAuth options: one key, usable, and a sane tolerance', async t => {
  const invalid = { code: 'BAYEUX_ERR_INVALID_OPTIONS' }
  const unusable = { code: 'BAYEUX_ERR_UNUSABLE_KEY' }
  const rsa = rsaKeys()
  t.throws(() => tokenAuth({}), { ...invalid, message: /either secret \(HS256\) or publicKey/ }, 'no key')
  t.throws(() => tokenAuth({ secret: newSecret(), publicKey: rsa.publicPem }), invalid, 'both keys')
  t.throws(() => tokenAuth({ secret: 'x'.repeat(31) }), { ...invalid, message: /at least 32 bytes/ }, 'a short secret')
  t.throws(() => tokenAuth({ secret: newSecret(), clockTolerance: -1 }), invalid)
  t.throws(() => tokenAuth({ secret: newSecret(), clockTolerance: Number.NaN }), invalid)
  t.throws(() => tokenAuth({ publicKey: 'not a key' }), { ...unusable, cause: Error }, 'not PEM')
  t.throws(() => tokenAuth({ publicKey: rsa.privateKey }), { ...unusable, message: /must be a public key/ }, 'a private KeyObject')
  t.throws(() => tokenAuth({ publicKey: generateKeyPairSync('ed25519').publicKey }), { ...unusable, message: /RSA key \(RS256\) or a P-256 key \(ES256\), not ed25519/ })
  t.throws(() => tokenAuth({ publicKey: generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey }), { ...unusable, message: /not ec secp384r1/ })
  const fromPrivatePem = tokenAuth({ publicKey: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() })
  t.type(fromPrivatePem.canHandshake, 'function', 'a private key\'s PEM gives its public key')
})
