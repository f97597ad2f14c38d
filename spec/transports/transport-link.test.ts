import type { IncomingHttpHeaders } from 'node:http'
import t from 'tap'
import type { LinkWatcher } from '../../lib/server/link.ts'
import { TransportLink } from '../../lib/transports/transport-link.ts'

/** The smallest link: the peer goes away when the test says so. */
class TestLink extends TransportLink {
  readonly #headers: IncomingHttpHeaders

  constructor (headers: IncomingHttpHeaders = {}) {
    super(headers, 'BAYEUX_BROWSER')
    this.#headers = headers
  }

  get headers (): IncomingHttpHeaders {
    return this.#headers
  }

  get remoteAddress (): undefined {
    return undefined
  }

  goAway (): void {
    this.peerClosed()
  }
}

t.test('a link takes its browser cookie from the request', async t => {
  t.equal(new TestLink({ cookie: 'a=1; BAYEUX_BROWSER=b1', host: 'x' }).browserId, 'b1')
  t.equal(new TestLink().browserId, undefined, 'no cookie, no browser id')
})

/** A watcher that records, under its name, each time it is told. */
function watcher (name: string, told: string[]): LinkWatcher {
  return { linkClosed: () => { told.push(name) } }
}

t.test('close watchers are told once, when the peer goes away', async t => {
  const link = new TestLink()
  const told: string[] = []
  const removed = watcher('removed', told)
  link.onClose(watcher('first', told))
  link.onClose(removed)
  link.onClose(watcher('second', told))
  link.offClose(removed)
  link.offClose(watcher('never added', told)) // nothing happens
  t.equal(link.closed, false)
  link.goAway()
  link.goAway()
  t.equal(link.closed, true)
  t.same(told, ['first', 'second'], 'each remaining watcher once, in order')
})

t.test('a lone close watcher is told once, and not once it is removed', async t => {
  const link = new TestLink()
  const told: string[] = []
  const removed = watcher('removed', told)
  link.onClose(removed)
  link.offClose(watcher('another', told)) // not the one watcher: it stays
  link.offClose(removed)
  link.onClose(watcher('only', told))
  link.goAway()
  link.goAway()
  t.same(told, ['only'])
})

t.test('a watcher added after the peer went away is told at once', async t => {
  const link = new TestLink()
  link.goAway()
  const told: string[] = []
  link.onClose(watcher('late', told))
  t.same(told, ['late'])
})
