/**
 * The long-polling transport and the HTTP plumbing it shares (lib/transports/
 * long-polling.ts, http.ts): paths, bodies, statuses, CORS, the browser cookie.
 */
import t from 'tap'
import { request } from 'undici'
import { HttpPeer, RecordingLogger, startOver, WAYS_IN } from '../../helpers.ts'

/** A long-polling connect of `peer` that `aborter` can cut off; it settles as 'aborted' then. */
function abortableConnect (url: string, peer: HttpPeer, id: string, aborter: AbortController): Promise<unknown> {
  return request(url, {
    method: 'POST',
    body: JSON.stringify([{ id, clientId: peer.clientId, channel: '/meta/connect', connectionType: 'long-polling' }]),
    headers: { cookie: peer.cookie! },
    signal: aborter.signal
  }).catch(() => 'aborted')
}

const handshakeBody = JSON.stringify([{ id: '1', channel: '/meta/handshake', version: '1.0' }])
for (const way of WAYS_IN) {
  t.test(`over the ${way} way in`, async t => {
    t.test('paths and content types', async t => {
      const server = await startOver(way, t)

      await t.test('C79 every suffix is the same endpoint; the type comes from the body', async t => {
        for (const suffix of ['', '/', '/handshake', '/connect', '/subscribe', '/disconnect', '/anything/else']) {
          const answer = await new HttpPeer(server.url).post(handshakeBody, { suffix })
          t.match(answer.messages, [{ channel: '/meta/handshake', successful: true }], suffix || '(none)')
        }
      })

      await t.test('C80 the body is JSON whatever the content type; C82 answers are JSON', async t => {
        for (const type of ['application/json', 'application/json;charset=UTF-8', 'text/plain', 'application/x-www-form-urlencoded']) {
          const answer = await new HttpPeer(server.url).post(handshakeBody, { headers: { 'content-type': type } })
          t.equal(answer.status, 200, type)
          t.match(answer.headers['content-type'], /^application\/json/)
        }
        const bare = await request(server.url, { method: 'POST', body: handshakeBody })
        t.equal(bare.statusCode, 200, 'no content type at all')
        await bare.body.dump()
      })

      await t.test('a form-encoded body carries the batch in message parameters, as older CometD clients post it', async t => {
        const form = { 'content-type': 'application/x-www-form-urlencoded' }
        const peer = new HttpPeer(server.url)
        const handshake = await peer.post(new URLSearchParams({ message: handshakeBody }).toString(), { headers: form })
        t.match(handshake.messages, [{ channel: '/meta/handshake', successful: true }])
        peer.clientId = handshake.messages[0]!['clientId']
        const two = new URLSearchParams()
        two.append('message', JSON.stringify({ id: '2', clientId: peer.clientId, channel: '/form', data: 1 }))
        two.append('message', JSON.stringify([{ id: '3', clientId: peer.clientId, channel: '/form', data: 2 }]))
        const answer = await peer.post(two.toString(), { headers: form })
        t.match(answer.messages, [{ id: '2', successful: true }, { id: '3', successful: true }], 'repeated parameters form one batch, in order')
        const missing = await peer.post('other=1', { headers: form })
        t.equal(missing.status, 400, 'a form without a message parameter is refused')
        t.match(missing.text, /missing message parameter/)
      })

      await t.test('C24 a handshake sets the HttpOnly browser cookie once', async t => {
        const peer = new HttpPeer(server.url)
        const first = await peer.post(handshakeBody)
        t.match(first.headers['set-cookie'], /^BAYEUX_BROWSER=[0-9a-f]{32}; Path=\/; HttpOnly; SameSite=Lax$/)
        const second = await peer.post(handshakeBody)
        t.equal(second.headers['set-cookie'], undefined, 'not again while the browser has it')
      })

      await t.test('routes outside the path are not ours', async t => {
        const answer = await request(server.url.replace('/cometd', '/elsewhere'), { method: 'POST', body: handshakeBody })
        t.equal(answer.statusCode, 404)
        await answer.body.dump()
      })
    })

    t.test('bad bodies get an HTTP error and a warning, and the server keeps serving', async t => {
      const log = new RecordingLogger()
      const server = await startOver(way, t, { logger: log as never, maxBodySize: 1024, maxMessagesPerBatch: 3 })
      const well = new HttpPeer(server.url)
      await well.connected()
      const cases: Array<[string, string, number]> = [
        ['C03 malformed JSON', '[{"channel":', 400],
        ['C04 empty array', '[]', 400],
        ['a scalar', '42', 400],
        ['null', 'null', 400],
        ['a string', '"hello"', 400],
        ['an empty body', '', 400],
        ['C102 a body over maxBodySize', JSON.stringify([{ channel: '/x', data: 'y'.repeat(2000) }]), 413],
        ['more messages than maxMessagesPerBatch', JSON.stringify([1, 2, 3, 4].map(() => ({ channel: '/x', data: 1 }))), 413]
      ]
      for (const [name, body, status] of cases) {
        log.lines.length = 0
        const answer = await new HttpPeer(server.url).post(body)
        t.equal(answer.status, status, name)
        t.ok(answer.text.length > 0, `${name}: a reason is given`)
        t.equal(log.at('warn').length, 1, `${name}: logged once at warn`)
      }
      const [reply] = await well.send({ channel: '/still/alive', data: 1 })
      t.match(reply, { successful: true }, 'other clients are still served')
    })

    t.test('C100 an HTTP clientId counts only with its cookie', async t => {
      const server = await startOver(way, t, { timeout: 300 })
      const owner = new HttpPeer(server.url)
      await owner.connected()
      const thief = new HttpPeer(server.url)
      thief.clientId = owner.clientId
      t.match((await thief.send({ channel: '/meta/subscribe', subscription: '/secret' }))[0], { error: '402::session_unknown' }, 'no cookie')
      thief.cookie = 'BAYEUX_BROWSER=0123456789abcdef0123456789abcdef'
      t.match((await thief.send({ channel: '/meta/subscribe', subscription: '/secret' }))[0], { error: '402::session_unknown' }, 'another cookie')

      const trusting = await startOver(way, t, { timeout: 300, trustClientSession: true })
      const cookieless = new HttpPeer(trusting.url)
      await cookieless.handshake()
      cookieless.cookie = undefined
      t.match((await cookieless.send({ channel: '/meta/subscribe', subscription: '/x' }))[0], { successful: true }, 'trustClientSession accepts the clientId alone')
    })

    t.test('CORS', async t => {
      const server = await startOver(way, t, { allowedOrigins: ['https://app.example'] })
      const from = (origin: string) => new HttpPeer(server.url).post(handshakeBody, { headers: { origin } })

      await t.test('C101 an allowed origin is echoed with credentials, never *', async t => {
        const answer = await from('https://app.example')
        t.equal(answer.status, 200)
        t.equal(answer.headers['access-control-allow-origin'], 'https://app.example')
        t.equal(answer.headers['access-control-allow-credentials'], 'true')
      })

      await t.test('another origin is refused before anything is processed', async t => {
        const before = server.bayeux.sessionCount
        const answer = await from('https://evil.example')
        t.equal(answer.status, 403)
        t.equal(answer.headers['access-control-allow-origin'], undefined)
        t.equal(server.bayeux.sessionCount, before, 'no session was created')
      })

      await t.test('same-origin and origin-less requests are served', async t => {
        const host = new URL(server.url).host
        t.equal((await from(`http://${host}`)).status, 200)
        t.equal((await new HttpPeer(server.url).post(handshakeBody)).status, 200)
      })

      await t.test('C87 preflight', async t => {
        const allowed = await request(server.url + '/handshake', {
          method: 'OPTIONS',
          headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' }
        })
        t.equal(allowed.statusCode, 200)
        t.equal(allowed.headers['access-control-allow-origin'], 'https://app.example')
        t.match(allowed.headers['access-control-allow-methods'], /POST/)
        t.match(allowed.headers['access-control-allow-headers'], /content-type/i)
        await allowed.body.dump()
        const refused = await request(server.url, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } })
        t.equal(refused.headers['access-control-allow-origin'], undefined, 'no CORS grant for other origins')
        await refused.body.dump()
      })
    })

    t.test('a request aborted while its connect is held loses no events', async t => {
      const server = await startOver(way, t, { timeout: 5000 })
      const peer = new HttpPeer(server.url)
      await peer.connected()
      await peer.send({ channel: '/meta/subscribe', subscription: '/kept' })
      const aborter = new AbortController()
      const held = abortableConnect(server.url, peer, 'held', aborter)
      await new Promise(resolve => setTimeout(resolve, 100))
      aborter.abort()
      t.equal(await held, 'aborted')
      await new Promise(resolve => setTimeout(resolve, 100))
      await server.bayeux.publish('/kept', 'after the abort')
      const answer = await peer.send({ channel: '/meta/connect', connectionType: 'long-polling' })
      t.match(answer, [{ channel: '/kept', data: 'after the abort' }, { channel: '/meta/connect', successful: true }])
    })

    t.test('a connect whose request went away before it was held is not held on it', async t => {
      const server = await startOver(way, t, { timeout: 5000 })
      const peer = new HttpPeer(server.url)
      await peer.connected()
      await peer.send({ channel: '/meta/subscribe', subscription: '/kept' })
      let release: () => void = () => {}
      const released = new Promise<void>(resolve => (release = resolve))
      let arrived: () => void = () => {}
      const delayed = new Promise<void>(resolve => (arrived = resolve))
      server.bayeux.addExtension({
        async incoming (message) {
          if (message.id === 'late') {
            arrived()
            await released
          }
          return message
        }
      })
      const aborter = new AbortController()
      const late = abortableConnect(server.url, peer, 'late', aborter)
      await delayed
      aborter.abort()
      t.equal(await late, 'aborted')
      await new Promise(resolve => setTimeout(resolve, 100))
      release()
      await new Promise(resolve => setTimeout(resolve, 100))
      await server.bayeux.publish('/kept', 'after the abort')
      const answer = await peer.send({ channel: '/meta/connect', connectionType: 'long-polling' })
      t.match(answer, [{ channel: '/kept', data: 'after the abort' }, { channel: '/meta/connect', successful: true }])
    })
  })
}
