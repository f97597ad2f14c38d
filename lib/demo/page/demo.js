/* c8 ignore start */
// The script of the demo page (index.html), run by the browser: coverage of lib/ cannot see it,
// spec/e2e/demo.test.ts drives it in Chromium instead.
/* global document, location */
import { CometD } from './cometd/cometd.js'

/** What the server put on the page: the Bayeux path, the transports it offers, the demo's channels. */
const config = JSON.parse(document.body.dataset.config)
const endpoint = new URL(config.path, location.href).href
const forced = new URLSearchParams(location.search).get('transport')
const name = `guest-${Math.floor(1000 + Math.random() * 9000)}`
/** Received messages kept on the page; older ones are dropped. */
const LOG_LIMIT = 200
const TEXT_LIMIT = 500

const byId = id => document.getElementById(id)
const log = byId('log')
const input = byId('message')
const send = byId('send')

byId('endpoint').textContent = endpoint
byId('snippet').textContent = snippet(endpoint)
byId('name').textContent = name
byId('stats-channel').textContent = config.stats
showTransportChoices()

const cometd = new CometD()
if (forced !== null) {
  for (const type of cometd.getTransportTypes()) {
    if (type !== forced) cometd.unregisterTransport(type)
  }
}
cometd.configure({ url: endpoint, logLevel: 'warn' })

cometd.addListener('/meta/handshake', reply => {
  if (!reply.successful) {
    setStatus(`not connected (${reply.error ?? 'handshake failed'})`)
    return
  }
  // Subscriptions do not survive a new handshake (a restarted server): made again on each.
  cometd.batch(() => {
    cometd.subscribe(config.stats, message => showFigures(message.data))
    cometd.subscribe(config.chat, message => showMessage(message.data), subscribed => {
      if (!subscribed.successful) {
        notice(`cannot join the chat: ${subscribed.error}`)
        return
      }
      input.disabled = false
      send.disabled = false
    })
  })
})

cometd.addListener('/meta/connect', reply => {
  if (cometd.isDisconnected()) return
  setStatus(reply.successful ? 'connected' : 'reconnecting')
  showTransport()
})

byId('chat').addEventListener('submit', event => {
  event.preventDefault()
  const text = input.value.trim()
  if (text === '') return
  cometd.publish(config.chat, { user: name, text }, reply => {
    if (!reply.successful) notice(`not sent: ${reply.error}`)
  })
  input.value = ''
  input.focus()
})

cometd.handshake()

function setStatus (text) {
  byId('status').textContent = text
}

function showTransport () {
  const transport = cometd.getTransport()
  byId('transport').textContent = transport === null ? '…' : transport.type
}

function notice (text) {
  byId('notice').textContent = text
}

/** Anyone may publish anything on the chat: only text reaches the page, never markup. */
function showMessage (data) {
  const user = typeof data?.user === 'string' ? data.user.slice(0, 40) : 'someone'
  const text = typeof data?.text === 'string' ? data.text : JSON.stringify(data) ?? ''
  const item = document.createElement('li')
  if (user === name) item.className = 'mine'
  const who = document.createElement('span')
  who.className = 'who'
  who.textContent = user
  const what = document.createElement('span')
  what.className = 'text'
  what.textContent = text.slice(0, TEXT_LIMIT)
  item.append(who, what)
  log.append(item)
  while (log.childElementCount > LOG_LIMIT) log.firstElementChild.remove()
  log.scrollTop = log.scrollHeight
}

function showFigures (figures) {
  const shown = value => Number.isFinite(value) ? String(value) : '–'
  byId('stats-sessions').textContent = shown(figures?.sessions)
  byId('stats-channels').textContent = shown(figures?.channels)
  byId('stats-rate').textContent = shown(figures?.messagesPerSecond)
}

/** Links that reload the page with each transport the server offers, or with the client's own choice. */
function showTransportChoices () {
  const choices = byId('transports')
  for (const transport of [null, ...config.transports]) {
    const link = document.createElement('a')
    link.href = transport === null ? location.pathname : `?transport=${encodeURIComponent(transport)}`
    link.textContent = transport ?? 'automatic'
    if (transport === forced) link.setAttribute('aria-current', 'page')
    choices.append(link)
  }
}

/** A client for this endpoint, in the style of the README. */
function snippet (url) {
  const quoted = text => `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`
  return `import { CometD } from 'cometd'

const cometd = new CometD()
cometd.configure({ url: ${quoted(url)} })
cometd.handshake(reply => {
  if (!reply.successful) return
  cometd.subscribe(${quoted(config.chat)}, message => console.log(message.data))
  cometd.publish(${quoted(config.chat)}, { user: 'script', text: 'hello' })
})`
}
/* c8 ignore stop */
