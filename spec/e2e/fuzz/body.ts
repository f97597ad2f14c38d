/** A generated payload and how it becomes the bytes a transport sends. */

/** JSON text spliced into a payload as is: what JSON.stringify cannot write (`1e999`, own `__proto__` keys, deep nesting). */
export class Raw {
  readonly text: string
  constructor (text: string) {
    this.text = text
  }
}

/** Stands for a clientId obtained by a real handshake: the sender's own, or another live session's. */
export class ClientRef {
  static readonly OWN = new ClientRef('own')
  static readonly OTHER = new ClientRef('other')
  readonly whose: 'own' | 'other'
  private constructor (whose: 'own' | 'other') {
    this.whose = whose
  }
}

export type Body =
  | { kind: 'tree', value: unknown }
  | { kind: 'text', text: string }
  | { kind: 'bytes', bytes: Uint8Array }
  /** Valid traffic as text, cut at `at` (insert '') or with `insert` spliced in there. */
  | { kind: 'mangled', value: unknown, at: number, insert: string }

export interface ClientIds {
  own: string | undefined
  other: string | undefined
}

/** Placeholders JSON.stringify leaves in the text, swapped for Raw text afterwards. */
const RAW_MARK = /"\\u0001raw(\d+)\\u0001"/g

export function treeText (value: unknown, ids: ClientIds): string {
  const raws: string[] = []
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof ClientRef) return ids[v.whose]
    if (v instanceof Raw) return `\u0001raw${raws.push(v.text) - 1}\u0001`
    return v
  }) ?? 'null'
  return raws.length === 0 ? text : text.replace(RAW_MARK, (_mark, index: string) => raws[Number(index)]!)
}

/** The payload as sent: text, or bytes for invalid UTF-8. */
export function materialize (body: Body, ids: ClientIds): string | Uint8Array {
  switch (body.kind) {
    case 'tree': return treeText(body.value, ids)
    case 'text': return body.text
    case 'bytes': return body.bytes
    case 'mangled': {
      const text = treeText(body.value, ids)
      const at = body.at % (text.length + 1)
      return body.insert === '' ? text.slice(0, at) : text.slice(0, at) + body.insert + text.slice(at)
    }
  }
}

/** A bounded, printable excerpt of a payload or answer for failure messages. */
export function preview (data: string | Uint8Array, max = 600): string {
  const text = typeof data === 'string' ? data : `<bytes ${Buffer.from(data).toString('hex')}>`
  const shown = JSON.stringify(text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text)
  return shown
}
