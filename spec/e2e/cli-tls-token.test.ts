/**
 * The TLS and token settings of bin/bayeux-server (issue 12): --tls-cert, --tls-key and
 * the --jwt-* flags and variables; pairs that cannot work exit 2 before anything listens;
 * the CLI serves HTTPS and WSS and admits only handshakes with a good token.
 * bin/ runs dist/: run `npm run build` first when running this file alone.
 */
import t from 'tap'
import { writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Agent, request } from 'undici'
import { WsPeer } from '../helpers.ts'
import type { Json } from '../helpers.ts'
import { readOptions } from '../support/cli-options.ts'
import { serveCli } from '../support/cli-process.ts'
import { selfSigned } from '../support/tls.ts'
import { mint, newSecret, now, p256Keys } from '../support/tokens.ts'

// Each test runs CLI processes of its own, with certificates of its own: all at once, so that
// the file waits on no one Node start-up after another.
t.jobs = 4

t.test('readOptions: the TLS and token settings, from flags and variables', async t => {
  t.same(readOptions(['--tls-cert', 'c.pem', '--jwt-clock-tolerance', '5000', '--jwt-audience=chat'], { BAYEUX_TLS_KEY: 'k.pem', BAYEUX_JWT_PUBLIC_KEY: 'jwt.pem', BAYEUX_JWT_ISSUER: 'https://id.example' }), {
    // Files are paths: resolved against the working directory (or a config file's folder).
    tlsCert: resolve('c.pem'), tlsKey: resolve('k.pem'), jwtPublicKey: resolve('jwt.pem'), jwtAudience: 'chat', jwtIssuer: 'https://id.example', jwtClockTolerance: 5000
  })
  const secret = newSecret()
  t.same(readOptions([], { BAYEUX_JWT_SECRET: secret }), { jwtSecret: secret })
  const cases: Array<[string[], Record<string, string>, string | RegExp]> = [
    [['--tls-cert', 'c.pem'], {}, '--tls-cert: needs tlsKey too'],
    [[], { BAYEUX_TLS_KEY: 'k.pem' }, '--tls-key: needs tlsCert too'],
    [['--tls-cert='], { BAYEUX_TLS_KEY: 'k.pem' }, '--tls-cert: must NOT have fewer than 1 characters'],
    [['--jwt-secret', secret, '--jwt-public-key', 'jwt.pem'], {}, /^--jwt-secret: cannot be given with jwtPublicKey/],
    [['--jwt-secret', 'too-short'], {}, '--jwt-secret: must NOT have fewer than 32 characters'],
    [['--jwt-audience', 'chat'], {}, '--jwt-audience: needs jwtSecret or jwtPublicKey'],
    [[], { BAYEUX_JWT_ISSUER: 'https://id.example' }, '--jwt-issuer: needs jwtSecret or jwtPublicKey'],
    [['--jwt-clock-tolerance', '10'], {}, '--jwt-clock-tolerance: needs jwtSecret or jwtPublicKey'],
    [['--jwt-secret', secret, '--jwt-clock-tolerance', '-1'], {}, '--jwt-clock-tolerance: not a whole number: "-1"']
  ]
  // Each is a usage error: the CLI prints it and exits 2 before anything listens (below).
  for (const [args, env, message] of cases) {
    t.throws(() => readOptions(args, env), { message, showUsage: true }, `${JSON.stringify(args)} ${JSON.stringify(env)}`)
  }
})

// Each pair that cannot work, as readSettings words it: above. Here, that the CLI stops on one
// given by flags and on one given by variables.
t.test('settings that cannot work together exit 2 before anything listens', async t => {
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [['--tls-cert', 'cert.pem'], {}, /--tls-cert: needs tlsKey too/],
    [[], { BAYEUX_JWT_SECRET: 'short' }, /--jwt-secret: must NOT have fewer than 32 characters/]
  ]
  const runs = cases.map(([args, env]) => serveCli(t, args, { env }))
  for (const [i, [args, env, message]] of cases.entries()) {
    t.same(await runs[i]!.exited, { code: 2, signal: null }, `${JSON.stringify(args)} ${JSON.stringify(env)} exits 2`)
    t.match(runs[i]!.stderr(), message)
    t.equal(runs[i]!.stdout(), '', 'nothing listened')
  }
})

t.test('a certificate or key file it cannot read is a start-up failure: exit 1, naming the file', async t => {
  const { certFile } = await selfSigned(t)
  const missing = serveCli(t, ['--tls-cert', certFile, '--tls-key', '/nonexistent/key.pem'])
  const noKey = serveCli(t, ['--jwt-public-key', '/nonexistent/jwt.pem'])
  t.same(await missing.exited, { code: 1, signal: null })
  t.match(missing.stderr(), /tlsKey: cannot read \/nonexistent\/key\.pem: ENOENT/)
  t.same(await noKey.exited, { code: 1, signal: null })
  t.match(noKey.stderr(), /jwtPublicKey: cannot read \/nonexistent\/jwt\.pem: ENOENT/)
})

t.test('HTTPS and WSS with an ES256 public key from the environment: good tokens in, others out, logged at warn', async t => {
  const { certFile, keyFile, cert, dir } = await selfSigned(t)
  const keys = p256Keys()
  const publicKeyFile = join(dir, 'jwt.pem')
  await writeFile(publicKeyFile, keys.publicPem)
  const server = serveCli(t, ['--tls-cert', certFile, '--tls-key', keyFile], { env: { BAYEUX_JWT_PUBLIC_KEY: publicKeyFile, BAYEUX_JWT_ISSUER: 'https://id.example' } })
  const url = await server.url
  t.match(url, /^https:\/\/127\.0\.0\.1:\d+\/cometd$/, 'the serving line says https')

  const handshake = async (token: string): Promise<Json> => {
    const answer = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify([{ id: '1', channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }]),
      dispatcher: new Agent({ connect: { ca: cert } })
    })
    return (await answer.body.json() as Json[])[0]!
  }
  const good = await mint(keys.privateKey, { sub: 'ada', iss: 'https://id.example', exp: now() + 3600 })
  t.match(await handshake(good), { successful: true }, 'HTTPS, a token signed by the key')
  t.match(await handshake(await mint(p256Keys().privateKey, { iss: 'https://id.example' })), { successful: false, error: '403::handshake_denied', advice: { reconnect: 'none' } }, 'another key')
  t.match(await handshake(await mint(keys.privateKey, { iss: 'https://other.example' })), { successful: false, error: '403::handshake_denied' }, 'another issuer')

  const socket = await WsPeer.open(url, { ca: cert, headers: { authorization: `Bearer ${good}` } })
  t.teardown(() => socket.close())
  t.match(await socket.handshake(), { successful: true }, 'WSS, the token in the upgrade')

  const warnings = await server.until(stdout => {
    const lines = stdout.split('\n').filter(line => line.includes('handshake denied'))
    return lines.length >= 2 ? lines : undefined
  })
  t.equal(warnings.length, 2, 'each refusal logged once')
  t.match(JSON.parse(warnings[0]!), { level: 40, reason: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', transport: 'long-polling' })
})
