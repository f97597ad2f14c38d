/** JWTs minted in the tests, with jose, for lib/server/token-auth.ts. */
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { SignJWT } from 'jose'
import type { JWTPayload } from 'jose'

/** A fresh HS256 secret: 43 characters. */
export function newSecret (): string {
  return randomBytes(32).toString('base64url')
}

export interface KeyPair {
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
  /** The public key as PEM (SPKI): what --jwt-public-key files hold. */
  readonly publicPem: string
}

function pair ({ privateKey, publicKey }: { privateKey: KeyObject, publicKey: KeyObject }): KeyPair {
  return { privateKey, publicKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }
}

export function rsaKeys (): KeyPair {
  return pair(generateKeyPairSync('rsa', { modulusLength: 2048 }))
}

export function p256Keys (): KeyPair {
  return pair(generateKeyPairSync('ec', { namedCurve: 'P-256' }))
}

/** Now, in the seconds of JWT dates. */
export function now (): number {
  return Math.floor(Date.now() / 1000)
}

/**
 * A signed token with `claims`. `alg` defaults to the key's: HS256 for a secret (a
 * string), RS256 for an RSA key, ES256 for a P-256 key.
 */
export async function mint (key: string | Uint8Array | KeyObject, claims: JWTPayload = {}, alg?: string): Promise<string> {
  const secret = typeof key === 'string' ? new TextEncoder().encode(key) : key
  const algorithm = alg ?? (secret instanceof Uint8Array ? 'HS256' : secret.asymmetricKeyType === 'rsa' ? 'RS256' : 'ES256')
  return new SignJWT(claims).setProtectedHeader({ alg: algorithm }).sign(secret)
}
