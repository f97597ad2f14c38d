import t from 'tap'
import { checkMessage } from '../../lib/protocol/validation.ts'
import * as errors from '../../lib/protocol/wire-errors.ts'

const failure = (value: unknown) => {
  const checked = checkMessage(value)
  if (checked.ok) throw new Error(`accepted ${JSON.stringify(value)}`)
  return checked
}

t.test('well-formed messages pass unchanged (C13, C14, C42)', async t => {
  const messages = [
    { channel: '/meta/handshake', id: '1', version: '1.0', supportedConnectionTypes: ['long-polling'], ext: { ack: true }, advice: { timeout: 60000, interval: 0 } },
    { channel: '/meta/connect', id: 'abc9', clientId: 'a1b2', connectionType: 'long-polling', advice: { timeout: 0 }, ext: {} },
    { channel: '/meta/subscribe', clientId: 'x', subscription: '/a/**' },
    { channel: '/meta/subscribe', clientId: 'x', subscription: ['/a', '/b/*'] },
    { channel: '/chat', data: { text: 'hi' }, timestamp: 'unknown fields are ignored' }
  ]
  for (const message of messages) {
    const checked = checkMessage(message)
    t.same(checked, { ok: true, message }, message.channel)
    t.equal(checked.ok && checked.message, message, 'the very object is returned, not a copy')
  }
})

t.test('a missing channel is 400::channel_missing (C06)', async t => {
  t.same(failure({ id: '4', data: 1 }), { ok: false, error: errors.CHANNEL_MISSING, id: '4' }, 'the id is echoed')
  t.equal(failure({}).error, errors.CHANNEL_MISSING)
})

t.test('a channel that is not a string is 405::channel_invalid (C07)', async t => {
  for (const channel of [42, null, ['/a'], { name: '/a' }, true]) {
    t.same(failure({ channel, id: '2' }), { ok: false, error: errors.CHANNEL_INVALID, id: '2' }, JSON.stringify(channel))
  }
})

t.test('an id that is not alphanumeric is 405::message_id_invalid (C08)', async t => {
  for (const id of ['a-b', '1.5', '', 'é', 'x'.repeat(65), 7, null, ['1']]) {
    const result = failure({ channel: '/meta/connect', id })
    t.same(result, { ok: false, error: errors.MESSAGE_ID_INVALID, channel: '/meta/connect' }, `${JSON.stringify(id)}, and the bad id is not echoed`)
  }
  t.ok(checkMessage({ channel: '/a', id: 'AZaz09' }).ok, 'letters and digits are fine')
})

t.test('a malformed subscription is 403::subscription_invalid (C46)', async t => {
  for (const subscription of [42, null, [], ['/a', 3], { 0: '/a' }]) {
    t.same(failure({ channel: '/meta/subscribe', id: '9', subscription }),
      { ok: false, error: errors.SUBSCRIPTION_INVALID, channel: '/meta/subscribe', id: '9' }, JSON.stringify(subscription))
  }
})

t.test('an oversized or non-string clientId is 402::session_unknown', async t => {
  t.equal(failure({ channel: '/meta/connect', clientId: 'x'.repeat(129) }).error, errors.SESSION_UNKNOWN)
  t.same(failure({ channel: '/meta/connect', id: '7', clientId: 'x'.repeat(129) }),
    { ok: false, error: errors.SESSION_UNKNOWN, channel: '/meta/connect', id: '7' }, 'the failure echoes channel and id')
  t.ok(checkMessage({ channel: '/meta/connect', clientId: 'x'.repeat(128) }).ok, '128 characters are taken')
  t.equal(failure({ channel: '/meta/connect', clientId: 12 }).error, errors.SESSION_UNKNOWN)
})

t.test('other fields of the wrong shape name the field', async t => {
  t.equal(failure({ channel: '/a', ext: [] }).error, '400:ext:invalid_field')
  t.equal(failure({ channel: '/a', ext: null }).error, '400:ext:invalid_field')
  t.equal(failure({ channel: '/a', advice: { timeout: '5' } }).error, '400:advice:invalid_field')
  t.equal(failure({ channel: '/a', connectionType: 1 }).error, '400:connectionType:invalid_field')
  t.equal(failure({ channel: '/a', supportedConnectionTypes: 'long-polling' }).error, '400:supportedConnectionTypes:invalid_field')
})

t.test('batch elements that are not objects get an error, not an exception', async t => {
  for (const value of [null, undefined, 42, 'text', [], [{ channel: '/a' }]]) {
    t.same(failure(value), { ok: false, error: '400:message:invalid_field' }, JSON.stringify(value) ?? 'undefined')
  }
})

t.test('prototype-polluting keys do not pollute Object.prototype', async t => {
  const hostile = [
    '{"channel":"/a","__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}',
    '{"channel":"/a","ext":{"__proto__":{"polluted":3}},"advice":{"__proto__":{"timeout":"x","polluted":4}}}',
    '{"__proto__":{"channel":"/meta/handshake","polluted":5}}',
    '{"channel":"/a","id":"1","prototype":{"polluted":6},"constructor":{"name":"x"}}'
  ]
  for (const json of hostile) checkMessage(JSON.parse(json))
  t.equal(({} as Record<string, unknown>)['polluted'], undefined, 'plain objects gain no property')
  t.equal(Object.hasOwn(Object.prototype, 'polluted'), false)

  const checked = checkMessage(JSON.parse(hostile[0]!))
  t.ok(checked.ok, 'the message itself is still valid')
  if (checked.ok) {
    t.equal(Object.getPrototypeOf(checked.message), Object.prototype, 'its prototype is untouched')
    t.equal(checked.message['polluted'], undefined)
  }
  t.equal(failure(JSON.parse(hostile[2]!)).error, errors.CHANNEL_MISSING, 'a channel under __proto__ is not a channel')
})
