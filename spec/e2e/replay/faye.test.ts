/**
 * The Faye client (faye 1.4) with a replay extension of the kind an application writes for it
 * (issue 11, docs/replay.md): after the server expired its session, Faye re-handshakes and
 * re-subscribes by itself, the extension asks to resume after the last id it saw, and nothing
 * published meanwhile is missed or delivered twice. Over long-polling and WebSocket.
 */
import t from 'tap'
import { expireSession, startServer } from '../../helpers.ts'
import { publishNumbered, until } from './helpers.ts'
import { Inbox, type Transport } from '../clients/cometd.ts'
import { clientIdOf, closeFaye, newFaye, subscribe } from '../clients/faye.ts'

/**
 * Remembers `ext.replay.id` per channel and sends the whole map with every subscribe, as
 * Salesforce clients do, once a handshake reply has said `ext.replay: true`.
 */
class FayeReplayExtension {
  readonly ids: Record<string, number> = {}
  readonly subscribes: any[] = []
  #enabled = false

  incoming (message: any, callback: (message: any) => void): void {
    if (message.channel === '/meta/handshake') {
      if (message.successful === true) this.#enabled = message.ext?.replay === true
    } else if (!message.channel.startsWith('/meta/') && Number.isInteger(message.ext?.replay?.id)) {
      this.ids[message.channel] = message.ext.replay.id
    }
    callback(message)
  }

  outgoing (message: any, callback: (message: any) => void): void {
    if (message.channel === '/meta/subscribe' && this.#enabled) message.ext = { ...message.ext, replay: { ...this.ids } }
    if (message.channel === '/meta/subscribe') this.subscribes.push(message)
    callback(message)
  }
}

/** Holds every handshake after the first until `release()`: the client stays away meanwhile. */
class HandshakeGate {
  handshakes = 0
  #held: Array<() => void> = []
  #open = true

  close (): void {
    this.#open = false
  }

  release (): void {
    this.#open = true
    for (const send of this.#held.splice(0)) send()
  }

  outgoing (message: any, callback: (message: any) => void): void {
    if (message.channel !== '/meta/handshake') return callback(message)
    this.handshakes++
    if (this.#open) callback(message)
    else this.#held.push(() => callback(message))
  }
}

const server = await startServer(t, { history: ['/chat/**'], maxSessionsPerBrowser: -1 })

const publish = (channel: string, from: number, to: number): Promise<void> => publishNumbered(server, channel, from, to)

for (const transport of ['long-polling', 'websocket'] as Transport[]) {
  t.test(`${transport}: resumes after the server expired the session`, async t => {
    const channel = `/chat/${transport}`
    const { client } = newFaye(server.url, transport)
    t.teardown(() => closeFaye(client))
    const replay = new FayeReplayExtension()
    const gate = new HandshakeGate()
    client.addExtension(replay)
    client.addExtension(gate)
    const inbox = new Inbox()
    const events: any[] = []
    client.addExtension({ incoming (message: any, callback: (message: any) => void) { if (message.channel === channel) events.push(message); callback(message) } })
    await subscribe(client, channel, inbox)
    await publish(channel, 1, 3)
    await until(() => inbox.messages.length >= 3)

    gate.close()
    expireSession(server.bayeux, clientIdOf(client))
    await until(() => gate.handshakes > 1)
    await publish(channel, 4, 6)
    const lastSeen = replay.ids[channel]
    gate.release()
    await until(() => inbox.messages.length >= 6)
    await publish(channel, 7, 7)
    await until(() => inbox.messages.length >= 7)

    t.same(inbox.data, [1, 2, 3, 4, 5, 6, 7].map(n => ({ n })), 'nothing missed, nothing twice, data unchanged')
    const ids = events.map(event => event.ext?.replay?.id)
    t.ok(ids.every((id, i) => Number.isInteger(id) && id > 0 && (i === 0 || id > ids[i - 1])), `ext.replay.id increases: ${ids}`)
    t.equal(gate.handshakes, 2, 'one re-handshake')
    t.equal(replay.subscribes.length, 2, 'subscribed, then re-subscribed by Faye')
    t.same(replay.subscribes[1].ext.replay, { [channel]: lastSeen }, 'the re-subscribe resumes after the last id seen')
    t.equal(lastSeen, ids[2])
  })
}
