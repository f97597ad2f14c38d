import t from 'tap'
import { browserCookie, newBrowserId, readCookie } from '../../lib/transports/cookie.ts'

const NAME = 'BAYEUX_BROWSER'

t.test('readCookie finds the named cookie among others', async t => {
  t.equal(readCookie('BAYEUX_BROWSER=abc123', NAME), 'abc123')
  t.equal(readCookie('a=1; BAYEUX_BROWSER=abc123; b=2', NAME), 'abc123')
  t.equal(readCookie('a=1;BAYEUX_BROWSER=abc123;b=2', NAME), 'abc123', 'without spaces')
  t.equal(readCookie('  BAYEUX_BROWSER = abc123  ', NAME), 'abc123', 'surrounding whitespace is trimmed')
  t.equal(readCookie('BAYEUX_BROWSER=a=b', NAME), 'a=b', 'a value may contain =')
  t.equal(readCookie('BAYEUX_BROWSER=first; BAYEUX_BROWSER=second', NAME), 'first', 'the first of duplicates wins')
  t.equal(readCookie('SESSION=1', 'SESSION'), '1', 'any name')
})

t.test('readCookie without the cookie', async t => {
  t.equal(readCookie(undefined, NAME), undefined, 'no Cookie header')
  t.equal(readCookie('', NAME), undefined)
  t.equal(readCookie('a=1; b=2', NAME), undefined)
  t.equal(readCookie('XBAYEUX_BROWSER=1; BAYEUX_BROWSERX=2; bayeux_browser=3', NAME), undefined, 'names match exactly')
  t.equal(readCookie('BAYEUX_BROWSER; =abc; ;;', NAME), undefined, 'pairs without a name or =')
})

t.test('an empty value counts as no cookie, so the server issues a real id', async t => {
  t.equal(readCookie('BAYEUX_BROWSER=', NAME), undefined)
  t.equal(readCookie('BAYEUX_BROWSER=  ; a=1', NAME), undefined)
  t.equal(readCookie('BAYEUX_BROWSER=; BAYEUX_BROWSER=abc', NAME), 'abc', 'a later non-empty duplicate is used')
})

t.test('newBrowserId: 128 random bits, hex, never repeated', async t => {
  const ids = new Set(Array.from({ length: 1000 }, newBrowserId))
  t.equal(ids.size, 1000)
  for (const id of [...ids].slice(0, 10)) t.match(id, /^[0-9a-f]{32}$/)
})

t.test('browserCookie: HttpOnly, Path=/, SameSite; None adds Secure (C24)', async t => {
  t.equal(browserCookie(NAME, 'abc', 'Lax'), 'BAYEUX_BROWSER=abc; Path=/; HttpOnly; SameSite=Lax')
  t.equal(browserCookie(NAME, 'abc', 'Strict'), 'BAYEUX_BROWSER=abc; Path=/; HttpOnly; SameSite=Strict')
  t.equal(browserCookie(NAME, 'abc', 'None'), 'BAYEUX_BROWSER=abc; Path=/; HttpOnly; SameSite=None; Secure', 'browsers drop SameSite=None without Secure')
  const id = newBrowserId()
  t.equal(readCookie(browserCookie(NAME, id, 'Lax'), NAME), id, 'what is set reads back')
})
