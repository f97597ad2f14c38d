import t from 'tap'
import { TransportLink } from '../../lib/transports/transport-link.ts'

/** The smallest link: the peer goes away when the test says so. */
class TestLink extends TransportLink {
  goAway (): void {
    this.peerClosed()
  }
}

t.test('a link takes its headers, address and browser cookie from the request', async t => {
  const link = new TestLink({ cookie: 'a=1; BAYEUX_BROWSER=b1', host: 'x' }, '127.0.0.9', 'BAYEUX_BROWSER')
  t.equal(link.browserId, 'b1')
  t.equal(link.remoteAddress, '127.0.0.9')
  t.equal(link.headers['host'], 'x')
  t.equal(new TestLink({}, undefined, 'BAYEUX_BROWSER').browserId, undefined, 'no cookie, no browser id')
})

t.test('close listeners are called once, when the peer goes away', async t => {
  const link = new TestLink({}, undefined, 'BAYEUX_BROWSER')
  const calls: string[] = []
  const removed = (): void => { calls.push('removed') }
  link.onClose(() => calls.push('first'))
  link.onClose(removed)
  link.onClose(() => calls.push('second'))
  link.offClose(removed)
  link.offClose(() => {}) // never added: nothing happens
  t.equal(link.closed, false)
  link.goAway()
  link.goAway()
  t.equal(link.closed, true)
  t.same(calls, ['first', 'second'], 'each remaining listener once, in order')
})

t.test('a lone close listener is called once, and not once it is removed', async t => {
  const link = new TestLink({}, undefined, 'BAYEUX_BROWSER')
  const calls: string[] = []
  const removed = (): void => { calls.push('removed') }
  link.onClose(removed)
  link.offClose(() => {}) // not the one listener: it stays
  link.offClose(removed)
  link.onClose(() => calls.push('only'))
  link.goAway()
  link.goAway()
  t.same(calls, ['only'])
})

t.test('a listener added after the peer went away is called at once', async t => {
  const link = new TestLink({}, undefined, 'BAYEUX_BROWSER')
  link.goAway()
  let called = 0
  link.onClose(() => called++)
  t.equal(called, 1)
})
