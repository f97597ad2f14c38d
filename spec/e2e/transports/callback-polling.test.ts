/**
 * The callback-polling (JSONP) transport (lib/transports/callback-polling.ts):
 * raw GETs for its edges (C84-C86, §7.3), and the real CometD client in headless
 * Chromium loading responses as scripts from another origin.
 */
import t from 'tap'
import { HttpPeer, RecordingLogger, startOver, WAYS_IN } from '../../helpers.ts'
import { callbackPollingClient, launchChromium, serveCometdPage } from '../../support/browser.ts'
import type { Json } from '../../helpers.ts'
import type { ServerSession } from '../../../lib/index.ts'

const jsonp = (callback: string, messages: unknown): string =>
  `?jsonp=${encodeURIComponent(callback)}&message=${encodeURIComponent(JSON.stringify(messages))}`

/** The messages inside `/**\/cb([...]);`. */
function unwrap (text: string, callback: string): Json[] {
  const prefix = `/**/${callback}(`
  if (!text.startsWith(prefix) || !text.endsWith(');')) throw new Error(`not a JSONP answer: ${text}`)
  return JSON.parse(text.slice(prefix.length, -2))
}
// Each way in has servers and a browser of its own: both at once.
t.jobs = WAYS_IN.length

for (const way of WAYS_IN) {
  t.test(`over the ${way} way in`, async t => {
    t.test('C84 a JSONP GET is answered as a hardened script', async t => {
      const server = await startOver(way, t)
      const peer = new HttpPeer(server.url)
      const answer = await peer.get('/handshake' + jsonp('_cometd_jsonp_1', [{ id: '1', channel: '/meta/handshake', version: '1.0' }]))
      t.equal(answer.status, 200)
      t.match(answer.headers['content-type'], /^text\/javascript; charset=utf-8$/)
      t.equal(answer.headers['x-content-type-options'], 'nosniff')
      t.match(answer.headers['content-disposition'], /^attachment/)
      t.match(answer.headers['cache-control'], /no-store/)
      t.match(unwrap(answer.text, '_cometd_jsonp_1'), [{ id: '1', successful: true }])
    })

    t.test('C85 hostile or missing callbacks and messages get HTTP 400, logged once', async t => {
      const log = new RecordingLogger()
      const server = await startOver(way, t, { logger: log as never })
      const handshake = [{ channel: '/meta/handshake' }]
      const cases: Array<[string, string]> = [
        ['script injection', jsonp('alert(1)//', handshake)],
        ['markup', jsonp('<script>', handshake)],
        ['statement', jsonp('a;b', handshake)],
        ['dash', jsonp('a-b', handshake)],
        ['leading digit', jsonp('1abc', handshake)],
        ['empty path segment', jsonp('a..b', handshake)],
        ['too long', jsonp('a'.repeat(65), handshake)],
        ['two callbacks', jsonp('a', handshake) + '&jsonp=b'],
        ['no callback', `?message=${encodeURIComponent(JSON.stringify(handshake))}`],
        ['no message', '?jsonp=cb'],
        ['message not JSON', '?jsonp=cb&message=%7Bnope'],
        ['empty batch', jsonp('cb', [])]
      ]
      for (const [name, query] of cases) {
        log.lines.length = 0
        const answer = await new HttpPeer(server.url).get(query)
        t.equal(answer.status, 400, name)
        t.notMatch(answer.headers['content-type'], /javascript/, `${name}: never served as script`)
        t.equal(log.at('warn').length, 1, `${name}: one warning`)
      }
    })

    t.test('C102 a message parameter nested too deep is HTTP 400, like a POST body', async t => {
      const server = await startOver(way, t)
      const deep = `[{"channel":"/a","data":${'['.repeat(300)}${']'.repeat(300)}}]`
      const peer = new HttpPeer(server.url)
      t.equal((await peer.get(`?jsonp=cb&message=${encodeURIComponent(deep)}`)).status, 400)
      const fine = encodeURIComponent('[{"channel":"/meta/handshake"}]')
      t.equal((await peer.get(`?jsonp=cb&message=${fine}&message=${encodeURIComponent(deep)}`)).status, 400, 'in any of several message parameters')
    })

    t.test('several message parameters form one batch; line separators are escaped', async t => {
      const server = await startOver(way, t)
      const peer = new HttpPeer(server.url)
      const [hello] = unwrap((await peer.get(jsonp('cb', [{ id: '1', channel: '/meta/handshake' }]))).text, 'cb')
      peer.clientId = hello!['clientId']
      const first = encodeURIComponent(JSON.stringify([{ id: '2', clientId: peer.clientId, channel: '/meta/subscribe', subscription: '/line' }]))
      const second = encodeURIComponent(JSON.stringify({ id: '3', clientId: peer.clientId, channel: '/line', data: 'a\u2028b' }))
      const answer = await peer.get(`?jsonp=cb&message=${first}&message=${second}`)
      t.notOk(answer.text.includes('\u2028'), 'U+2028 never appears raw in the script')
      t.match(unwrap(answer.text, 'cb'), [{ id: '2', successful: true }, { id: '3', successful: true }])
    })

    t.test('C86 events travel only in connect responses', async t => {
      const server = await startOver(way, t, { timeout: 300 })
      const peer = new HttpPeer(server.url)
      const send = async (message: Json): Promise<Json[]> =>
        unwrap((await peer.get(jsonp('cb', [{ id: peer.nextId(), clientId: peer.clientId, ...message }]))).text, 'cb')
      peer.clientId = (await send({ channel: '/meta/handshake' }))[0]!['clientId']
      await send({ channel: '/meta/connect', connectionType: 'callback-polling', advice: { timeout: 0 } })
      await send({ channel: '/meta/subscribe', subscription: '/jsonp' })
      await server.bayeux.publish('/jsonp', 'queued')
      const other = await send({ channel: '/meta/unsubscribe', subscription: '/nothing' })
      t.same(other.map(m => m['channel']), ['/meta/unsubscribe'], 'not piggy-backed on other replies')
      const connect = await send({ channel: '/meta/connect', connectionType: 'callback-polling' })
      t.match(connect, [{ channel: '/jsonp', data: 'queued' }, { channel: '/meta/connect', successful: true }])
    })

    t.test('the real CometD client over callback-polling in headless Chromium, from another origin', async t => {
      const browser = await launchChromium(t)
      if (browser === undefined) return
      const server = await startOver(way, t, { timeout: 500 })
      const heard: unknown[] = []
      server.bayeux.listen('/browser/out', message => { heard.push(message.data) })
      server.bayeux.listen('/service/upper', message => String(message.data).toUpperCase())
      const sessions: ServerSession[] = []
      server.bayeux.on('handshake', session => sessions.push(session))

      const page = await serveCometdPage(t, callbackPollingPage(server.url))
      const tab = await browser.newPage()
      const scripts: string[] = []
      tab.on('request', request => { if (request.url().startsWith(server.url)) scripts.push(`${request.method()} ${request.resourceType()}`) })
      await tab.goto(page)
      await tab.waitForFunction(() => (window as any).ready === true)

      await server.bayeux.publish('/browser/in', { hello: 'browser' })
      await tab.waitForFunction(() => (window as any).received.length === 1)
      t.same(await tab.evaluate(() => (window as any).received), [{ hello: 'browser' }], 'an event reached the page')
      const ack = await tab.evaluate(() => (window as any).publish('/browser/out', 42))
      t.match(ack, { successful: true }, 'publish acked')
      t.same(heard, [42], 'the server heard the page')
      t.match(await tab.evaluate(() => (window as any).call('upper', 'shout')), { successful: true, data: 'SHOUT' }, 'remoteCall')
      t.same(sessions.map(session => session.transport), ['callback-polling'], 'the session used callback-polling')
      t.ok(scripts.length > 0 && scripts.every(s => s === 'GET script'), 'every Bayeux request was a script GET')
    })
  })
}

/** A page script that runs the cometd client over callback-polling only. */
function callbackPollingPage (bayeuxUrl: string): string {
  return `${callbackPollingClient(bayeuxUrl)}
window.received = []
window.publish = (channel, data) => new Promise(resolve => cometd.publish(channel, data, resolve))
window.call = (target, data) => new Promise(resolve => cometd.remoteCall(target, data, 5000, resolve))
cometd.handshake(reply => {
  if (!reply.successful) return
  cometd.subscribe('/browser/in', message => window.received.push(message.data), () => { window.ready = true })
})
`
}
