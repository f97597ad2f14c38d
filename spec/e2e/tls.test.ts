/**
 * TLS (lib/standalone.ts, issue 12): with tlsCert and tlsKey, createServer serves HTTPS
 * and WSS on one port, and says so in its url. The certificate is self-signed, made
 * here by openssl; clients trust it through their CA option, verification stays on.
 */
import t from 'tap'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Agent, request } from 'undici'
import { createServer } from '../../lib/index.ts'
import { WsPeer, startServer } from '../helpers.ts'
import type { Json } from '../helpers.ts'
import { selfSigned } from '../support/tls.ts'

/** POSTs a batch over HTTPS, trusting `ca`; returns the messages and the cookie set, if any. */
async function post (url: string, ca: string, batch: Json[], cookie?: string): Promise<{ messages: Json[], cookie: string | undefined }> {
  const answer = await request(url, {
    method: 'POST',
    body: JSON.stringify(batch),
    headers: { 'content-type': 'application/json', ...(cookie !== undefined && { cookie }) },
    dispatcher: new Agent({ connect: { ca } })
  })
  const setCookie = answer.headers['set-cookie']
  return { messages: await answer.body.json() as Json[], cookie: setCookie === undefined ? cookie : String(setCookie).split(';')[0] }
}

t.test('HTTPS and WSS on one port: long-polling and WebSocket clients talk to each other', async t => {
  const { certFile, keyFile, cert } = await selfSigned(t)
  const server = await startServer(t, { tlsCert: certFile, tlsKey: keyFile, timeout: 60_000 })
  t.match(server.url, /^https:\/\/127\.0\.0\.1:\d+\/cometd$/, 'the url says https')

  const socket = await WsPeer.open(server.url, { ca: cert })
  await socket.connected()
  const subscribed = socket.send({ channel: '/meta/subscribe', subscription: '/secure' })
  t.match(await socket.until(m => m['id'] === subscribed), { successful: true }, 'over WSS')

  const hello = await post(server.url, cert, [{ id: '1', channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }])
  t.match(hello.messages, [{ successful: true, clientId: String }], 'over HTTPS')
  t.ok(hello.cookie, 'with the browser cookie')
  const clientId = hello.messages[0]!['clientId']
  const published = await post(server.url, cert, [{ id: '2', clientId, channel: '/secure', data: 'sealed' }], hello.cookie)
  t.match(published.messages, [{ id: '2', successful: true }])
  t.match(await socket.until(m => m['channel'] === '/secure'), { data: 'sealed' }, 'the WSS subscriber gets what the HTTPS client published')
  socket.close()
})

t.test('a client that does not trust the certificate is refused by its own verification', async t => {
  const { certFile, keyFile, cert } = await selfSigned(t)
  const server = await startServer(t, { tlsCert: certFile, tlsKey: keyFile })
  await t.rejects(request(server.url, { method: 'POST', body: '[]' }), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, 'undici without the CA')
  await t.rejects(WsPeer.open(server.url), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, 'ws without the CA')
  await t.rejects(request(server.url.replace(/^https/, 'http'), { method: 'POST', body: '[]' }), 'plain HTTP on the TLS port gets no answer')
  const still = await post(server.url, cert, [{ id: '1', channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }])
  t.match(still.messages, [{ successful: true }], 'and the server serves on')
})

t.test('createServer refuses TLS settings it cannot use, before listening', async t => {
  const { certFile, keyFile, dir } = await selfSigned(t)
  const other = await selfSigned(t)
  const garbage = join(dir, 'garbage.pem')
  await writeFile(garbage, 'not a certificate\n')
  const start = (options: object) => createServer({ host: '127.0.0.1', port: 0, logger: false, ...options })

  await t.rejects(start({ tlsCert: certFile }), { code: 'BAYEUX_ERR_INVALID_OPTIONS', message: 'Invalid options: tlsCert needs tlsKey too' })
  await t.rejects(start({ tlsKey: keyFile }), { code: 'BAYEUX_ERR_INVALID_OPTIONS', message: 'Invalid options: tlsKey needs tlsCert too' })
  await t.rejects(start({ tlsCert: certFile, tlsKey: join(dir, 'missing.pem') }),
    { code: 'BAYEUX_ERR_UNUSABLE_KEY', message: /^tlsKey: cannot read .*missing\.pem: ENOENT/, cause: { code: 'ENOENT' } }, 'a file that is not there')
  await t.rejects(start({ tlsCert: dir, tlsKey: keyFile }), { code: 'BAYEUX_ERR_UNUSABLE_KEY', message: /^tlsCert: cannot read .*EISDIR/ }, 'a folder')
  await t.rejects(start({ tlsCert: garbage, tlsKey: keyFile }), { code: 'BAYEUX_ERR_UNUSABLE_KEY', message: /are not a usable certificate and key/ }, 'a file that is no certificate')
  await t.rejects(start({ tlsCert: certFile, tlsKey: other.keyFile }), { code: 'BAYEUX_ERR_UNUSABLE_KEY', message: /are not a usable certificate and key: .*mismatch/ }, 'the key of another certificate')
})
