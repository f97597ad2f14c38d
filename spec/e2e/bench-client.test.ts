import t from 'tap'
import { BayeuxClient, type ClientProblems, type Link, type LinkListener, type Message } from '../../bench/loadgen/bayeux-client.ts'

// The load generator's client against a scripted server: a session that the server no longer
// has when its connect comes (it expired) is counted as lost, so that the bench can tell lost
// sessions from late deliveries; its client stops connecting, as it does not handshake again.

/** Answers handshake and the first connect, then refuses connects as a server that expired the session. */
function expiringServer (sent: Message[]): (listener: LinkListener) => Promise<Link> {
  let connects = 0
  const answer = (message: Message): Message => {
    if (message.channel === '/meta/handshake') return { channel: message.channel, id: message.id, successful: true, clientId: 'c1' }
    if (connects++ === 0) return { channel: message.channel, id: message.id, successful: true }
    return { channel: message.channel, id: message.id, successful: false, error: '402::session_unknown', advice: { reconnect: 'handshake' } }
  }
  return async (listener) => ({
    connectionType: 'long-polling',
    send (messages) {
      sent.push(...messages)
      setImmediate(() => listener.receive(messages.map(answer)))
    },
    close () {}
  })
}

t.test('a connect refused with advice to handshake again counts its session as lost', async (t) => {
  const problems: ClientProblems = { failedReplies: 0, transportErrors: 0, lastError: '', sessionsLost: 0 }
  const sent: Message[] = []
  const client = new BayeuxClient(() => {}, problems)
  await client.open(expiringServer(sent))
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(problems.sessionsLost, 1)
  t.equal(problems.lastError, '/meta/connect: 402::session_unknown')
  t.equal(sent.filter((message) => message.channel === '/meta/connect').length, 2, 'no connect after the refusal')
  client.close()
})
