/**
 * docs/errors.md against the code: every API error code, wire error string and
 * bad-input reason is documented, and nothing documented is gone.
 */
import { readFileSync } from 'node:fs'
import t from 'tap'
import { BAD_INPUT_REASONS } from '../lib/diagnostics.ts'
import { BayeuxServerError, ERROR_CODES } from '../lib/errors.ts'
import * as wire from '../lib/protocol/wire-errors.ts'
import type { DenialKind } from '../lib/protocol/wire-errors.ts'

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')

/** The rows of the table under `heading`: first cell (unquoted) → second cell. */
function table (heading: string): Map<string, string> {
  const section = doc.split(/^## /m).find(part => part.startsWith(heading))
  if (section === undefined) throw new Error(`docs/errors.md has no section ${heading}`)
  const rows = new Map<string, string>()
  for (const line of section.split('\n')) {
    const cells = /^\| `([^`]+)` \| (.+) \|$/.exec(line)
    if (cells !== null) rows.set(cells[1]!, cells[2]!)
  }
  return rows
}

t.test('API error codes: the catalogue and the document say the same', async t => {
  t.same(Object.fromEntries(table('API errors')), ERROR_CODES)
})

t.test('a BayeuxServerError keeps its code and the error it wraps', async t => {
  const cause = new TypeError('cycle')
  const error = new BayeuxServerError('BAYEUX_ERR_INVALID_DATA', 'cannot send', { cause })
  t.equal(error.code, 'BAYEUX_ERR_INVALID_DATA')
  t.equal(error.cause, cause)
  t.equal(error.name, 'BayeuxServerError')
})

t.test('bad-input reasons: the catalogue and the document say the same', async t => {
  t.same(Object.fromEntries(table('Bad-input reasons')), BAD_INPUT_REASONS)
})

t.test('wire errors: every string the server can send is documented, and only those', async t => {
  const constants = Object.values(wire as Record<string, unknown>).filter((value): value is string => typeof value === 'string')
  const kinds: DenialKind[] = ['create_denied', 'channel_create_denied', 'subscribe_denied', 'publish_denied']
  const templates = [
    wire.fieldInvalid('<field>'),
    wire.publishInvalid('<channel>'),
    wire.connectionTypesUnsupported(['<transports>']),
    wire.replayIdInvalid('<id>'),
    ...kinds.map(kind => wire.denied(kind)),
    wire.denied('subscribe_denied', 'denied_by_authorizer'),
    wire.denied('publish_denied', 'denied_by_authorizer')
  ]
  const functions = Object.values(wire as Record<string, unknown>).filter(value => typeof value === 'function')
  t.equal(functions.length, 5, 'every template function of wire-errors.ts is sampled above')
  t.same([...table('Wire errors').keys()].sort(), [...constants, ...templates].sort())
})
