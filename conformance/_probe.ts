const url = process.argv[2] as string
async function post (path: string, body: unknown, cookie?: string): Promise<{ json: any, cookie?: string, ms: number }> {
  const t = Date.now()
  const r = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) }, body: JSON.stringify(body) })
  const setCookie = r.headers.get('set-cookie')?.split(';')[0]
  return { json: await r.json(), cookie: setCookie, ms: Date.now() - t }
}
const hs = await post('/handshake', [{ id: '1', channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }])
const id = hs.json[0].clientId; const cookie = hs.cookie
await post('/connect', [{ id: '2', channel: '/meta/connect', connectionType: 'long-polling', advice: { timeout: 0 }, clientId: id }], cookie)
const held = post('/connect', [{ id: '3', channel: '/meta/connect', connectionType: 'long-polling', clientId: id }], cookie)
await new Promise(r => setTimeout(r, 50))
if (process.argv[3] === 'batch') console.log('batch', JSON.stringify((await post('/', [1, 2].map(n => ({ id: String(3 + n), channel: '/probe/feed', data: n, clientId: id })), cookie)).json))
if (process.argv[3] === 'self') {
  console.log('sub', JSON.stringify((await post('/', [{ id: '6', channel: '/meta/subscribe', subscription: '/probe/self', clientId: id }], cookie)).json))
  console.log('pub', JSON.stringify((await post('/', [{ id: '7', channel: '/probe/self', data: 'x', clientId: id }], cookie)).json))
}
console.log('disc', JSON.stringify((await post('/disconnect', [{ id: '9', channel: '/meta/disconnect', clientId: id }], cookie)).json))
const h = await held
console.log('held', h.ms, JSON.stringify(h.json))
