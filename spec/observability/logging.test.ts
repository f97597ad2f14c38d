/**
 * lib/observability/logging.ts: the log format of the standalone server; and the
 * core's debug lines, by which a session's life can be followed by its clientId.
 */
import { Writable } from 'node:stream'
import t from 'tap'
import { loggerOptions, resolveLogFormat } from '../../lib/observability/logging.ts'
import { CoreHarness } from '../support/core-harness.ts'
import { FakePushLink, FakeRequestLink } from '../support/fake-links.ts'

t.test('auto is pretty on a terminal and JSON elsewhere; pretty and json override it', async t => {
  t.equal(resolveLogFormat('auto', true), 'pretty')
  t.equal(resolveLogFormat('auto', false), 'json')
  t.equal(resolveLogFormat('pretty', false), 'pretty')
  t.equal(resolveLogFormat('json', true), 'json')
})

t.test('json keeps pino\'s own output; pretty writes through pino-pretty', async t => {
  t.same(await loggerOptions('warn', 'json', true), { level: 'warn' }, 'pino writes JSON lines itself')
  const pretty = await loggerOptions('debug', 'auto', true)
  t.equal(pretty.level, 'debug')
  t.ok(pretty.stream instanceof Writable, 'a prettifying stream')
})

t.test('a session\'s life at debug, each line with its clientId: created, transport changes, why it ended', async t => {
  const h = await CoreHarness.start(t, { timesync: false })
  const http = new FakeRequestLink({ browserId: 'b' })
  const clientId = await h.connected(http)
  const socket = new FakePushLink({ browserId: 'b' })
  for (let i = 0; i < 2; i++) await h.reply(socket, h.connect(clientId, { connectionType: 'websocket', advice: { timeout: 0 } }))
  const other = await h.connected(new FakeRequestLink({ browserId: 'c' }))
  h.core.registry.remove(h.session(other), 'expired')
  await h.reply(socket, h.disconnect(clientId))

  const lines = h.log.at('debug').filter(line => (line.object as { clientId?: string }).clientId === clientId)
  t.match(lines, [
    { message: 'session created', object: { clientId, transport: 'long-polling', remoteAddress: '192.0.2.1' } },
    { message: 'session connects over a new transport', object: { clientId, from: undefined, to: 'long-polling' } },
    { message: 'session connects over a new transport', object: { clientId, from: 'long-polling', to: 'websocket' } },
    { message: 'session ended', object: { clientId, reason: 'client' } }
  ], 'one line per step, and none for a connect on the same transport')
  t.equal(lines.length, 4)
  t.match(h.log.at('debug').filter(line => (line.object as { clientId?: string }).clientId === other).at(-1), { message: 'session ended', object: { reason: 'expired' } })
})
