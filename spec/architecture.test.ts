/**
 * The shape of lib/: no import cycles (type-only imports included, since they
 * couple modules just the same), and each layer imports only what lies below it.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const lib = join(root, 'lib')

function modules (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return modules(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/gm

/** Each module of lib/ (relative path) → the lib/ modules it imports. */
const graph = new Map<string, string[]>()
for (const file of modules(lib)) {
  const text = readFileSync(file, 'utf8')
  const imports = [...text.matchAll(IMPORT)].map(match => relative(lib, resolve(dirname(file), match[1]!)))
  graph.set(relative(lib, file), imports)
}

/** Strongly connected components with more than one module, or a module importing itself. */
function cycles (): string[][] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  let next = 0
  const visit = (node: string): void => {
    index.set(node, next)
    low.set(node, next++)
    stack.push(node)
    onStack.add(node)
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target)
        low.set(node, Math.min(low.get(node)!, low.get(target)!))
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!))
      }
    }
    if (low.get(node) !== index.get(node)) return
    const component: string[] = []
    let member: string
    do {
      member = stack.pop()!
      onStack.delete(member)
      component.push(member)
    } while (member !== node)
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort())
  }
  for (const node of graph.keys()) if (!index.has(node)) visit(node)
  return found
}

t.test('every import of lib/ resolves to a module of lib/', async t => {
  const unresolved = [...graph].flatMap(([module, imports]) => imports.filter(target => !graph.has(target)).map(target => `${module} → ${target}`))
  t.same(unresolved, [])
  t.ok(graph.size > 20, `read ${graph.size} modules`)
})

t.test('lib/ has no import cycle, type-only imports included', async t => {
  t.same(cycles(), [])
})

/** Which folders each folder may import from (besides itself). */
const LAYERS: Record<string, { may: string[] }> = {
  // The wire format knows nothing of servers, transports or engines.
  'protocol/': { may: ['errors.ts', 'types.ts'] },
  // Engines route events; they never see sessions, transports or the core.
  'engines/': { may: ['protocol/', 'errors.ts', 'types.ts'] },
  // Transports only move arrays of messages: of the core they know the link contract.
  'transports/': { may: ['protocol/', 'diagnostics.ts', 'logger.ts', 'server/link.ts'] },
  // The core never knows which transport carried a message, only the host contract.
  'server/': { may: ['protocol/', 'engines/', 'errors.ts', 'types.ts', 'logger.ts', 'diagnostics.ts', 'options.ts', 'transports/transport.ts'] },
  // Client extensions run in browsers, apart from the server: they import nothing of it.
  'client/': { may: [] }
}

t.test('each layer imports only what it may', async t => {
  const violations: string[] = []
  for (const [module, imports] of graph) {
    const layer = Object.keys(LAYERS).find(prefix => module.startsWith(prefix))
    if (layer === undefined) continue
    for (const target of imports) {
      if (!target.startsWith(layer) && !LAYERS[layer]!.may.some(prefix => target.startsWith(prefix))) violations.push(`${module} → ${target}`)
    }
  }
  t.same(violations, [])
})
