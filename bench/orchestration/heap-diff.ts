// Where the bytes of an idle session go: two V8 heap snapshots of one server (before its
// sessions opened, and while they idled; see BENCH_HEAP_SNAPSHOTS in bench/README.md),
// their difference summed by what holds it, per session, e.g.
//   node --import=tsx bench/orchestration/heap-diff.ts empty.heapsnapshot idle.heapsnapshot 2000
import { readFileSync } from 'node:fs'

interface Snapshot {
  snapshot: { meta: { node_fields: string[], node_types: [string[], ...unknown[]] } }
  nodes: number[]
  strings: string[]
}

const TOP = Number(process.env.TOP ?? 25)

function kindOf (type: string, name: string): string {
  if (type === 'object') return name
  if (type === 'closure') return `closure ${name || '(anonymous)'}`
  if (type === 'native' || type === 'hidden' || type === 'array') return `(${type}) ${name.replace(/\d+/g, 'N')}`
  return `(${type})`
}

/** Bytes and object counts by kind: an object by its constructor, a closure by its function, the rest by V8's node type. */
function tally (file: string): Map<string, { bytes: number, count: number }> {
  const heap: Snapshot = JSON.parse(readFileSync(file, 'utf8'))
  const fields = heap.snapshot.meta.node_fields
  const types = heap.snapshot.meta.node_types[0]
  const [TYPE, NAME, SIZE] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field)) as [number, number, number]
  const byKind = new Map<string, { bytes: number, count: number }>()
  for (let i = 0; i < heap.nodes.length; i += fields.length) {
    const type = types[heap.nodes[i + TYPE]!]!
    const name = heap.strings[heap.nodes[i + NAME]!]!
    const kind = kindOf(type, name)
    const entry = byKind.get(kind) ?? { bytes: 0, count: 0 }
    entry.bytes += heap.nodes[i + SIZE]!
    entry.count++
    byKind.set(kind, entry)
  }
  return byKind
}

const [beforeFile, afterFile, sessionsArg] = process.argv.slice(2)
if (beforeFile === undefined || afterFile === undefined || sessionsArg === undefined) {
  console.error('usage: heap-diff.ts <before.heapsnapshot> <after.heapsnapshot> <sessions>')
  process.exit(2)
}
const sessions = Number(sessionsArg)
const before = tally(beforeFile)
const after = tally(afterFile)
const rows = [...after].map(([kind, { bytes, count }]) => {
  const was = before.get(kind) ?? { bytes: 0, count: 0 }
  return { kind, bytes: (bytes - was.bytes) / sessions, count: (count - was.count) / sessions }
})
const total = rows.reduce((sum, row) => sum + row.bytes, 0)
// Compiled code (bytecode, optimized code, feedback) grows with the first traffic, not with the sessions.
const code = rows.filter((row) => row.kind === '(code)').reduce((sum, row) => sum + row.bytes, 0)
console.log(`heap per session: ${total.toFixed(0)} bytes over ${sessions} sessions, ${(total - code).toFixed(0)} without compiled code`)
console.log('| held by | bytes per session | objects per session |')
console.log('|---|---|---|')
for (const row of rows.sort((a, b) => b.bytes - a.bytes).slice(0, TOP)) {
  console.log(`| ${row.kind} | ${row.bytes.toFixed(0)} | ${row.count.toFixed(2)} |`)
}
