import t from 'tap'
import { OriginPolicy } from '../../lib/transports/origin.ts'

const host = (value?: string) => (value === undefined ? {} : { host: value })

t.test('requests without Origin are allowed (non-browser clients)', async t => {
  t.ok(new OriginPolicy([]).allows(undefined, host('example.com')))
  t.ok(new OriginPolicy([]).allows(undefined, host()))
})

t.test('same-origin requests are allowed without an allowlist', async t => {
  const policy = new OriginPolicy([])
  t.ok(policy.allows('http://example.com', host('example.com')))
  t.ok(policy.allows('https://127.0.0.1:8080', host('127.0.0.1:8080')))
  t.ok(policy.allows('http://[::1]:3000', host('[::1]:3000')))
  t.notOk(policy.allows('http://example.com:8080', host('example.com')), 'another port is another origin')
  t.notOk(policy.allows('http://example.com', host()), 'no Host header: not provably same-origin')
  t.notOk(policy.allows('http://other.example', host('example.com')), 'a cross-origin request is refused')
})

t.test('the allowlist admits exactly its origins', async t => {
  const policy = new OriginPolicy(['https://app.example', 'http://localhost:5173'])
  t.ok(policy.allows('https://app.example', host('api.example')))
  t.ok(policy.allows('http://localhost:5173', host('api.example')))
  t.notOk(policy.allows('http://app.example', host('api.example')), 'the scheme is part of the origin')
  t.notOk(policy.allows('https://app.example:8443', host('api.example')), 'so is the port')
  t.notOk(policy.allows('https://sub.app.example', host('api.example')), 'subdomains are other origins')
})

t.test('* allows any origin', async t => {
  const policy = new OriginPolicy(['*'])
  for (const origin of ['https://anything.example', 'null', 'http://evil.example']) t.ok(policy.allows(origin, host('api.example')), origin)
})

t.test('origins and hosts compare case-insensitively', async t => {
  t.ok(new OriginPolicy(['https://App.Example']).allows('HTTPS://APP.example', host('api.example')), 'allowlist')
  t.ok(new OriginPolicy([]).allows('http://Example.COM:8080', host('EXAMPLE.com:8080')), 'same-origin')
})

t.test('lookalike origins are refused', async t => {
  const policy = new OriginPolicy(['http://good.example'])
  const lookalikes = [
    'http://good.example.evil', 'http://evilgood.example', 'http://good.example:80.evil', 'http://good.example@evil.example',
    'http://good-example', 'good.example', '//good.example', 'null', ''
  ]
  for (const origin of lookalikes) t.notOk(policy.allows(origin, host('good.example')), JSON.stringify(origin))
  t.notOk(new OriginPolicy([]).allows('http://good.example.evil', host('good.example')), 'not mistaken for same-origin either')
  t.notOk(new OriginPolicy([]).allows('null', host('null')), 'an opaque origin is never same-origin')
})
