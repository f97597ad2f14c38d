import { createPublicKey } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { errors as jose, jwtVerify } from 'jose'
import type { JWTPayload } from 'jose'
import { BayeuxServerError } from '../errors.ts'
import { silentLogger } from '../logger.ts'
import type { Logger } from '../logger.ts'
import { ChannelParser } from '../protocol/channel.ts'
import type { ParsedChannel } from '../protocol/channel.ts'
import type { Message } from '../protocol/message.ts'
import type { MaybePromise } from '../types.ts'
import type { TransportContext } from './link.ts'
import type { SecurityPolicy } from './security.ts'
import type { ServerSession, Session } from './session.ts'

export interface TokenAuthOptions {
  /** HS256: the secret tokens are signed with, at least 32 bytes. Give this or `publicKey`. */
  secret?: string | Uint8Array
  /** RS256 (an RSA key) or ES256 (a P-256 key): the public key, as PEM (or a certificate) or a KeyObject. */
  publicKey?: string | KeyObject
  /** The `aud` tokens must have (one of, when theirs is a list); unchecked when absent. */
  audience?: string
  /** The `iss` tokens must have; unchecked when absent. */
  issuer?: string
  /** ms of clock skew allowed on `exp` and `nbf`; default 0. */
  clockTolerance?: number
  /** The application's own policy, asked once the token has passed (and `session.userId` is set). */
  policy?: SecurityPolicy
  /** Where refused tokens are logged, at warn; default: nowhere. */
  logger?: Logger
}

/** The token's `subscribe` and `publish` claims: what the session may do on broadcast channels (undefined: no limit). */
interface Grant {
  readonly subscribe: readonly ParsedChannel[] | undefined
  readonly publish: readonly ParsedChannel[] | undefined
}

/** Channel names were validated by the core already; claims only need the grammar. */
const channels = new ChannelParser({ maxLength: Number.MAX_SAFE_INTEGER, maxDepth: Number.MAX_SAFE_INTEGER })

const MIN_SECRET_BYTES = 32

/**
 * A security policy that admits a handshake only with a valid JWT (docs/protocol.md §7.4),
 * taken from the handshake's `ext.auth.token`, else from the `Authorization: Bearer`
 * header of its HTTP request or WebSocket upgrade. A refusal is `403::handshake_denied`
 * with `reconnect:"none"`. The token's `sub` becomes `session.userId`; its optional
 * `subscribe` and `publish` claims (lists of channel patterns) limit what the session may
 * do on broadcast channels; when its `exp` passes, the session ends and the client is
 * told to handshake again. The application's own `policy` is asked after the token.
 *
 *   new BayeuxServer({ policy: tokenAuth({ secret, policy: { canPublish (...) {...} } }) })
 */
export function tokenAuth (options: TokenAuthOptions): SecurityPolicy {
  const { audience, issuer, clockTolerance = 0, policy = {}, logger = silentLogger } = options
  const { key, algorithms } = verificationKey(options)
  if (!Number.isFinite(clockTolerance) || clockTolerance < 0) {
    throw new BayeuxServerError('BAYEUX_ERR_INVALID_OPTIONS', 'tokenAuth: clockTolerance must be a number of ms >= 0')
  }
  const verifyOptions = {
    algorithms,
    clockTolerance: clockTolerance / 1000,
    ...(audience !== undefined && { audience }),
    ...(issuer !== undefined && { issuer })
  }
  const grants = new WeakMap<ServerSession, Grant>()

  const deny = (context: TransportContext, reason: string, detail: string): false => {
    logger.warn({ transport: context.transport, remoteAddress: context.remoteAddress, reason }, `handshake denied: ${detail}`)
    return false
  }

  /** Whether the token allows `operation` on `channel`; the application's policy decides after it. */
  const allowed = (operation: keyof Grant, session: ServerSession, channel: string): boolean => {
    const grant = grants.get(session)
    // A session this policy never admitted (it cannot happen through the core): fail closed.
    if (grant === undefined) return false
    const patterns = grant[operation]
    if (patterns === undefined) return true
    const asked = channels.parse(channel)
    if (asked === null) return false
    return asked.kind !== 'broadcast' || patterns.some(pattern => covers(pattern, asked))
  }

  const composed: SecurityPolicy = {
    async canHandshake (session, message, context) {
      const token = tokenOf(message, context)
      if (token === undefined) return deny(context, 'token_missing', 'no token in ext.auth.token nor in an Authorization: Bearer header')
      if (typeof token !== 'string') return deny(context, 'token_malformed', 'ext.auth.token is not a string')
      let payload: JWTPayload
      try {
        ({ payload } = await jwtVerify(token, key, verifyOptions))
      } catch (error) {
        if (!(error instanceof jose.JOSEError)) throw error
        return deny(context, error.code, `token refused: ${error.message}`)
      }
      const claims = claimsOf(payload)
      if (typeof claims === 'string') return deny(context, 'token_claims_invalid', claims)
      const admitted = session as Session
      admitted.userId = payload.sub
      if (payload.exp !== undefined) admitted.tokenExpiresAt = payload.exp * 1000 + clockTolerance
      grants.set(session, claims)
      return policy.canHandshake === undefined || policy.canHandshake(session, message, context)
    },
    canSubscribe (session, channel, message) {
      if (!allowed('subscribe', session, channel)) return false
      return policy.canSubscribe === undefined || policy.canSubscribe(session, channel, message)
    },
    canPublish (session, channel, message) {
      if (!allowed('publish', session, channel)) return false
      return policy.canPublish === undefined || policy.canPublish(session, channel, message)
    }
  }
  // Without one, the core skips the channel-creation step altogether.
  if (policy.canCreate !== undefined) {
    composed.canCreate = (session, channel, message): MaybePromise<boolean> => policy.canCreate!(session, channel, message)
  }
  return composed
}

/** The key and the only algorithms it may verify: never `none`, never HS256 with a public key. */
function verificationKey ({ secret, publicKey }: TokenAuthOptions): { key: Uint8Array | KeyObject, algorithms: string[] } {
  if ((secret === undefined) === (publicKey === undefined)) {
    throw new BayeuxServerError('BAYEUX_ERR_INVALID_OPTIONS', 'tokenAuth: give either secret (HS256) or publicKey (RS256, ES256)')
  }
  if (secret !== undefined) {
    const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret
    if (bytes.length < MIN_SECRET_BYTES) {
      throw new BayeuxServerError('BAYEUX_ERR_INVALID_OPTIONS', `tokenAuth: the secret must be at least ${MIN_SECRET_BYTES} bytes long (RFC 7518 §3.2)`)
    }
    return { key: bytes, algorithms: ['HS256'] }
  }
  let key: KeyObject
  try {
    key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey!
  } catch (error) {
    throw new BayeuxServerError('BAYEUX_ERR_UNUSABLE_KEY', `tokenAuth: the public key is not a PEM public key, private key or certificate: ${(error as Error).message}`, { cause: error })
  }
  if (key.type !== 'public') {
    throw new BayeuxServerError('BAYEUX_ERR_UNUSABLE_KEY', `tokenAuth: publicKey must be a public key, not a ${key.type} one`)
  }
  if (key.asymmetricKeyType === 'rsa') return { key, algorithms: ['RS256'] }
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return { key, algorithms: ['ES256'] }
  throw new BayeuxServerError('BAYEUX_ERR_UNUSABLE_KEY',
    `tokenAuth: the public key must be an RSA key (RS256) or a P-256 key (ES256), not ${key.asymmetricKeyType ?? 'unknown'} ${key.asymmetricKeyDetails?.namedCurve ?? ''}`.trimEnd())
}

/** `ext.auth.token` if there is one (whatever its type), else the bearer token of the request, if any. */
function tokenOf (message: Message, context: TransportContext): unknown {
  const auth = message.ext?.['auth']
  if (typeof auth === 'object' && auth !== null && 'token' in auth) return auth.token
  const header = context.headers.authorization
  return header === undefined ? undefined : /^Bearer +([^ ]+) *$/i.exec(header)?.[1]
}

/** The grant of a verified payload, or why its claims are unusable. */
function claimsOf (payload: JWTPayload): Grant | string {
  if (payload.sub !== undefined && typeof payload.sub !== 'string') return 'claim sub is not a string'
  const grant: Record<string, readonly ParsedChannel[] | undefined> = {}
  for (const claim of ['subscribe', 'publish'] as const) {
    const value = payload[claim]
    if (value === undefined) continue
    const patterns = Array.isArray(value) ? value.map(item => typeof item === 'string' ? channels.parse(item) : null) : [null]
    if (patterns.includes(null)) return `claim ${claim} is not a list of channels and patterns`
    grant[claim] = patterns as ParsedChannel[]
  }
  return { subscribe: grant['subscribe'], publish: grant['publish'] }
}

/**
 * Whether every channel `asked` (a channel, or a pattern being subscribed to) names is
 * matched by `pattern`: `/a/**` covers `/a/b`, `/a/*` and `/a/b/**`; `/a/*` covers `/a/b`
 * and `/a/*`, not `/a/**`.
 */
function covers (pattern: ParsedChannel, asked: ParsedChannel): boolean {
  if (pattern.wild === 0) return asked.name === pattern.name
  if (!asked.name.startsWith(pattern.name.slice(0, pattern.name.lastIndexOf('/') + 1))) return false
  return pattern.wild === 1 ? asked.depth === pattern.depth && asked.wild !== 2 : asked.depth >= pattern.depth
}
