/** Self-signed certificates made by the `openssl` CLI, for the TLS tests. */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

interface Teardown { teardown (fn: () => unknown): void }

export interface Certificate {
  /** The PEM files, for --tls-cert and --tls-key. */
  readonly certFile: string
  readonly keyFile: string
  /** The certificate's PEM: what a client given it as its CA trusts. */
  readonly cert: string
  readonly dir: string
}

/** A P-256 certificate for 127.0.0.1 and localhost, valid for a day, in a folder removed when `t` ends. */
export async function selfSigned (t: Teardown): Promise<Certificate> {
  const dir = await mkdtemp(join(tmpdir(), 'bayeux-tls-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const certFile = join(dir, 'cert.pem')
  const keyFile = join(dir, 'key.pem')
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', keyFile, '-out', certFile
  ])
  return { certFile, keyFile, cert: await readFile(certFile, 'utf8'), dir }
}
