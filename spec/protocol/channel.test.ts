import t from 'tap'
import { ChannelParser } from '../../lib/protocol/channel.ts'

const parser = new ChannelParser({ maxLength: 64, maxDepth: 4 })
const parse = (name: string) => parser.parse(name)

t.test('categories and wildness', async t => {
  t.match(parse('/a/b'), { kind: 'broadcast', wild: 0, depth: 2 })
  t.match(parse('/meta/connect'), { kind: 'meta', wild: 0 })
  t.match(parse('/service/echo'), { kind: 'service', wild: 0 })
  t.match(parse('/a/*'), { wild: 1 })
  t.match(parse('/a/**'), { wild: 2 })
  t.match(parse('/**'), { kind: 'broadcast', wild: 2, depth: 1 })
  t.match(parse('/META/connect'), { kind: 'broadcast' }, 'the meta prefix is case-sensitive, as in CometD')
})

t.test('CometD character set is accepted (docs/protocol.md §2.1)', async t => {
  for (const name of ['/a.b/c-d', '/x_y/(z)', '/a b', '/a!#$+@~{}']) t.not(parse(name), null, name)
})

t.test('invalid names are refused (C07, C52, A20)', async t => {
  const invalid = [
    '', '/', 'a/b', '//a', '/a//b', '/a/', '/meta/connect/', '/a/*/b', '/a/**/b', '/a*', '/a/b*', '/a/*x',
    '/a%2Fb', '/a/\u0000', '/a/é', '/a\nb', '/' + 'x'.repeat(64), '/a/b/c/d/e'
  ]
  for (const name of invalid) t.equal(parse(name), null, JSON.stringify(name))
})

t.test('expansion lists every matching subscription key (C60, C61)', async t => {
  t.same(parse('/a/b/c')!.expansion, ['/a/b/c', '/a/b/*', '/a/b/**', '/a/**', '/**'])
  t.same(parse('/a')!.expansion, ['/a', '/*', '/**'])
  t.same(parse('/a/*')!.expansion, ['/a/*'], 'a pattern expands to itself only')
})

t.test('matching', async t => {
  const matches = (pattern: string, channel: string) => parse(pattern)!.matches(parse(channel)!)
  t.ok(matches('/a/*', '/a/b'))
  t.notOk(matches('/a/*', '/a'))
  t.notOk(matches('/a/*', '/a/b/c'))
  t.notOk(matches('/a/*', '/ab'))
  t.ok(matches('/a/**', '/a/b/c'))
  t.notOk(matches('/a/**', '/a'))
  t.ok(matches('/**', '/x/y'))
  t.notOk(matches('/a/*', '/a/*'.replace('*', '**')), 'a wildcard never matches another wildcard')
})

t.test('the cache stays bounded under a flood of distinct names', async t => {
  const small = new ChannelParser({ maxLength: 64, maxDepth: 4 }, 10)
  for (let i = 0; i < 1000; i++) small.parse(`/flood/${i}`)
  t.not(small.parse('/flood/999'), null)
})
