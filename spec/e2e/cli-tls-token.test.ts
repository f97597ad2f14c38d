/**
 * The TLS and token settings of bin/bayeux-server (issue 12): --tls-cert, --tls-key and
 * the --jwt-* flags and variables; pairs that cannot work exit 2 before anything listens;
 * the CLI serves HTTPS and WSS and admits only handshakes with a good token.
 * bin/ runs dist/: run `npm run build` first when running this file alone.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Agent, request } from 'undici'
import { readSettings, serverOptionsOf } from '../../lib/cli.ts'
import { WsPeer } from '../helpers.ts'
import type { Json } from '../helpers.ts'
import { selfSigned } from '../support/tls.ts'
import { mint, newSecret, now, p256Keys } from '../support/tokens.ts'
import { resolve } from 'node:path'

/** What the CLI would give createServer for these flags and variables. */
function readOptions (argv: string[], env: NodeJS.ProcessEnv): ReturnType<typeof serverOptionsOf> {
  const settings = readSettings(argv, env)
  if (settings === 'help') throw new Error('--help')
  return serverOptionsOf(settings)
}

const root = fileURLToPath(new URL('../..', import.meta.url))

interface Run {
  readonly exited: Promise<number | null>
  readonly stdout: () => string
  readonly stderr: () => string
  /** The URL of the `serving` line, once printed. */
  readonly url: Promise<string>
  /** The lines of stdout that include `text`, once there are `count` of them. */
  linesWith (text: string, count: number): Promise<string[]>
}

/** Runs bin/bayeux-server with `args` and no BAYEUX_* variables but `env`'s; killed when `t` ends. */
function run (t: { teardown (fn: () => unknown): void }, args: string[], env: Record<string, string> = {}): Run {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('BAYEUX_')))
  const child = spawn(process.execPath, ['bin/bayeux-server', '--host', '127.0.0.1', '--port', '0', '--log-level', 'warn', ...args], { cwd: root, env: { ...inherited, ...env } })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', chunk => { stderr += chunk })
  const lines = (text: string): string[] => stdout.split('\n').filter(line => line.includes(text))
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', chunk => {
      stdout += chunk
      const serving = /^bayeux-server: serving (\S+)$/m.exec(stdout)
      if (serving !== null) resolve(serving[1]!)
    })
    exited.then(() => reject(new Error(`exited before serving: ${stderr}`)))
  })
  url.catch(() => {})
  const linesWith = async (text: string, count: number): Promise<string[]> => {
    while (lines(text).length < count) await new Promise(resolve => child.stdout.once('data', resolve))
    return lines(text)
  }
  return { exited, stdout: () => stdout, stderr: () => stderr, url, linesWith }
}

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
  for (const [args, env, message] of cases) {
    t.throws(() => readOptions(args, env), { message }, `${JSON.stringify(args)} ${JSON.stringify(env)}`)
  }
})

t.test('settings that cannot work together exit 2 before anything listens', async t => {
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [['--tls-cert', 'cert.pem'], {}, /--tls-cert: needs tlsKey too/],
    [[], { BAYEUX_TLS_KEY: 'key.pem' }, /--tls-key: needs tlsCert too/],
    [['--jwt-secret', newSecret(), '--jwt-public-key', 'jwt.pem'], {}, /--jwt-secret: cannot be given with jwtPublicKey/],
    [[], { BAYEUX_JWT_SECRET: 'short' }, /--jwt-secret: must NOT have fewer than 32 characters/]
  ]
  const runs = cases.map(([args, env]) => run(t, args, env))
  for (const [i, [args, env, message]] of cases.entries()) {
    t.equal(await runs[i]!.exited, 2, `${JSON.stringify(args)} ${JSON.stringify(env)} exits 2`)
    t.match(runs[i]!.stderr(), message)
    t.equal(runs[i]!.stdout(), '', 'nothing listened')
  }
})

t.test('a certificate or key file it cannot read is a start-up failure: exit 1, naming the file', async t => {
  const { certFile } = await selfSigned(t)
  const missing = run(t, ['--tls-cert', certFile, '--tls-key', '/nonexistent/key.pem'])
  t.equal(await missing.exited, 1)
  t.match(missing.stderr(), /tlsKey: cannot read \/nonexistent\/key\.pem: ENOENT/)
  const noKey = run(t, ['--jwt-public-key', '/nonexistent/jwt.pem'])
  t.equal(await noKey.exited, 1)
  t.match(noKey.stderr(), /jwtPublicKey: cannot read \/nonexistent\/jwt\.pem: ENOENT/)
})

t.test('HTTPS and WSS with an ES256 public key from the environment: good tokens in, others out, logged at warn', async t => {
  const { certFile, keyFile, cert, dir } = await selfSigned(t)
  const keys = p256Keys()
  const publicKeyFile = join(dir, 'jwt.pem')
  await writeFile(publicKeyFile, keys.publicPem)
  const server = run(t, ['--tls-cert', certFile, '--tls-key', keyFile], { BAYEUX_JWT_PUBLIC_KEY: publicKeyFile, BAYEUX_JWT_ISSUER: 'https://id.example' })
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

  const warnings = await server.linesWith('handshake denied', 2)
  t.equal(warnings.length, 2, 'each refusal logged once')
  t.match(JSON.parse(warnings[0]!), { level: 40, reason: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', transport: 'long-polling' })
})
