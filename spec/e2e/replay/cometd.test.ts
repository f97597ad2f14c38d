/**
 * The real CometD JavaScript client (cometd 9 + cometd-nodejs-client) with the replay extension
 * this package ships (lib/client/replay.ts, issue 11): the server expires the session, the
 * client re-handshakes, the application subscribes again from its `/meta/handshake` listener
 * (the client drops subscriptions on a re-handshake), and the extension makes that subscribe
 * resume after the last id seen: nothing missed, nothing twice. Over long-polling and WebSocket,
 * for a channel and for a wildcard pattern (resumed whole, the events seen dropped on arrival).
 */
import t from 'tap'
import { ReplayExtension } from '../../../lib/client/replay.ts'
import { expireSession, startServer } from '../../helpers.ts'
import { publishNumbered, until } from './helpers.ts'
import { Inbox, newClient, type Transport } from '../clients/cometd.ts'

const server = await startServer(t, { history: ['/chat/**'], maxSessionsPerBrowser: -1 })

const publish = (channel: string, from: number, to: number): Promise<void> => publishNumbered(server, channel, from, to)

const cases = (['long-polling', 'websocket'] as Transport[]).flatMap(transport => [false, true].map(wildcard => ({ transport, wildcard })))

for (const { transport, wildcard } of cases) {
  t.test(`${transport}, ${wildcard ? 'a wildcard pattern' : 'a channel'}: resumes after the server expired the session`, async t => {
    const channel = `/chat/${transport}${wildcard ? '-wild' : ''}/room`
    const subscription = wildcard ? `/chat/${transport}-wild/**` : channel
    const cometd = newClient(server.url, transport)
    t.teardown(() => cometd.disconnect())
    // Registered before the replay extension, so that it sees outgoing messages after it.
    const subscribes: any[] = []
    const events: any[] = []
    cometd.registerExtension('spy', {
      outgoing (message) { if (message.channel === '/meta/subscribe') subscribes.push(message); return message },
      incoming (message) { if (message.channel === channel) events.push(message); return message }
    })
    const replay = new ReplayExtension()
    cometd.registerExtension('replay', replay)

    // The application subscribes on every successful handshake, once `mayResubscribe` lets it.
    const inbox = new Inbox()
    let mayResubscribe = Promise.resolve()
    const handshakes: string[] = []
    const subscribed: boolean[] = []
    cometd.addListener('/meta/handshake', reply => {
      if (reply.successful !== true) return
      handshakes.push(reply.clientId!)
      void mayResubscribe.then(() => cometd.subscribe(subscription, message => inbox.listener(message as any), (reply: any) => subscribed.push(reply.successful)))
    })
    cometd.handshake()
    await until(() => subscribed.length === 1)
    t.equal(replay.enabled, true, 'the handshake reply offered replay')
    await publish(channel, 1, 3)
    await until(() => inbox.messages.length >= 3)
    const lastSeen = replay.replayIds()[channel]

    let resubscribe = (): void => {}
    mayResubscribe = new Promise(resolve => { resubscribe = resolve })
    expireSession(server.bayeux, handshakes[0]!)
    await until(() => handshakes.length === 2)
    await publish(channel, 4, 6)
    resubscribe()
    await until(() => inbox.messages.length >= 6)
    await publish(channel, 7, 7)
    await until(() => inbox.messages.length >= 7)

    t.same(inbox.data, [1, 2, 3, 4, 5, 6, 7].map(n => ({ n })), 'nothing missed, nothing twice, data unchanged')
    const ids = [...new Set(events.map(event => event.ext?.replay?.id))]
    t.ok(ids.length === 7 && ids.every((id, i) => Number.isInteger(id) && id > 0 && (i === 0 || id > ids[i - 1])), `ext.replay.id increases: ${ids}`)
    t.equal(lastSeen, ids[2], 'the extension kept the id of the last event before the expiry')
    t.not(handshakes[1], handshakes[0], 'a new session')
    t.same(subscribed, [true, true])
    t.equal(subscribes[0].ext, undefined, 'the first subscribe had nothing to resume')
    if (wildcard) {
      t.same(subscribes[1].ext, { replay: { [subscription]: -2 } }, 'a pattern subscribed before resumes whole')
      t.equal(events.length, 10, 'the server replayed the three events seen again; the extension dropped them')
    } else {
      t.same(subscribes[1].ext, { replay: { [channel]: lastSeen } }, 'the re-subscribe resumes after the last id seen')
      t.equal(events.length, 7)
    }
    t.same(replay.replayIds(), { [channel]: ids[6] })
  })
}
