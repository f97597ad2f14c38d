/**
 * The public surface of the package, as its emitted declarations show it: every
 * name each entry point of package.json's `exports` exports (lib/index.ts, and
 * subpaths such as the client extension), with the declaration a user's compiler
 * sees (comments left out). docs/api-report.md holds the accepted report; spec/api.test.ts fails
 * when they differ, so that no member becomes public by accident.
 *
 *   node --import=tsx spec/support/api-report.ts --write   # accept the current surface
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const REPORT = join(root, 'docs/api-report.md')

let emitted: Map<string, string> | undefined

/** Declarations of lib/, emitted in memory once: relative path of the .d.ts → its text. */
function declarations (): Map<string, string> {
  return (emitted ??= emitDeclarations())
}

function emitDeclarations (): Map<string, string> {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: diagnostic => { throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')) }
  })!
  // No type check here (`tsc -b spec` in npm test checks lib/ as it builds it): the emit alone is a third of the time, and the same text.
  const options = { ...config.options, declaration: true, emitDeclarationOnly: true, sourceMap: false, declarationMap: false, noEmit: false, noCheck: true, skipLibCheck: true }
  const files = new Map<string, string>()
  ts.createProgram(config.fileNames, options).emit(undefined, (name, text) => {
    files.set(name.slice(resolve(options.outDir!).length + 1), text)
  })
  return files
}

const printer = ts.createPrinter({ removeComments: true })

function hasName (statement: ts.Statement, name: string): boolean {
  if (ts.isVariableStatement(statement)) return statement.declarationList.declarations.some(d => ts.isIdentifier(d.name) && d.name.text === name)
  const named = statement as ts.Statement & { name?: ts.Node }
  return named.name !== undefined && ts.isIdentifier(named.name) && named.name.text === name
}

/** The declaration of `name` in `file`, following re-exports. */
function findDeclaration (files: Map<string, string>, file: string, name: string): { statement: ts.Statement, source: ts.SourceFile } {
  const text = files.get(file)
  if (text === undefined) throw new Error(`no declarations emitted for ${file}`)
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true)
  for (const statement of source.statements) {
    if (hasName(statement, name) && !ts.isImportDeclaration(statement)) return { statement, source }
    if (ts.isExportDeclaration(statement) && statement.moduleSpecifier !== undefined && statement.exportClause !== undefined && ts.isNamedExports(statement.exportClause)) {
      const element = statement.exportClause.elements.find(e => e.name.text === name)
      if (element === undefined) continue
      const target = join(dirname(file), (statement.moduleSpecifier as ts.StringLiteral).text).replace(/\.ts$/, '.d.ts')
      return findDeclaration(files, target, (element.propertyName ?? element.name).text)
    }
  }
  throw new Error(`${name} is not declared in ${file}`)
}

type Declarations = Map<string, { statement: ts.Statement, source: ts.SourceFile }>

/** package.json's entry points: the import path users write → its emitted .d.ts (relative to dist/). */
function entryPoints (): Map<string, string> {
  const { name, exports } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string, exports: Record<string, { types: string }> }
  return new Map(Object.entries(exports).map(([subpath, { types }]) => [
    subpath === '.' ? name : `${name}/${subpath.slice(2)}`,
    types.replace(/^\.\/dist\//, '')
  ]))
}

/** Every name an entry point's declarations export, sorted, with its declaration. */
function publicDeclarations (files: Map<string, string>, entry: string): Declarations {
  const text = files.get(entry)
  if (text === undefined) throw new Error(`no declarations emitted for ${entry}`)
  const names: string[] = []
  for (const statement of ts.createSourceFile(entry, text, ts.ScriptTarget.ES2022, true).statements) {
    if (ts.isExportDeclaration(statement) && statement.exportClause !== undefined && ts.isNamedExports(statement.exportClause)) {
      names.push(...statement.exportClause.elements.map(element => element.name.text))
    } else if (hasExportModifier(statement)) {
      const named = statement as ts.Statement & { name?: ts.Node }
      if (named.name !== undefined && ts.isIdentifier(named.name)) names.push(named.name.text)
      if (ts.isVariableStatement(statement)) names.push(...statement.declarationList.declarations.flatMap(d => ts.isIdentifier(d.name) ? [d.name.text] : []))
    }
  }
  return new Map(names.sort().map(name => [name, findDeclaration(files, entry, name)]))
}

function hasExportModifier (statement: ts.Statement): boolean {
  return ts.canHaveModifiers(statement) && (ts.getModifiers(statement) ?? []).some(m => m.kind === ts.SyntaxKind.ExportKeyword)
}

/** Every entry point's public declarations, by import path. */
function publicSurface (): Map<string, Declarations> {
  const files = declarations()
  return new Map([...entryPoints()].map(([path, entry]) => [path, publicDeclarations(files, entry)]))
}

/** Names of lib/ that the public declarations use but the package does not export. */
export function unexportedReferences (): string[] {
  const files = declarations()
  const surface = [...publicSurface().values()]
  const exported = new Set(surface.flatMap(declarations => [...declarations.keys()]))
  const declaredInLib = new Set<string>()
  for (const [file, text] of files) {
    for (const statement of ts.createSourceFile(file, text, ts.ScriptTarget.ES2022).statements) {
      const named = statement as ts.Statement & { name?: ts.Node }
      if (!ts.isImportDeclaration(statement) && named.name !== undefined && ts.isIdentifier(named.name)) declaredInLib.add(named.name.text)
    }
  }
  const leaks = new Set<string>()
  const visit = (node: ts.Node): void => {
    if (ts.isTypeReferenceNode(node) && ts.isIdentifier(node.typeName)) {
      const name = node.typeName.text
      if (declaredInLib.has(name) && !exported.has(name)) leaks.add(name)
    }
    ts.forEachChild(node, visit)
  }
  for (const declarations of surface) for (const { statement } of declarations.values()) visit(statement)
  return [...leaks].sort()
}

/** The report: per entry point, one block per exported name, sorted. */
export function apiReport (): string {
  const blocks = [...publicSurface()].flatMap(([path, exported]) => [
    `## \`${path}\`\n`,
    ...[...exported].map(([name, { statement, source }]) => {
      const text = printer.printNode(ts.EmitHint.Unspecified, statement, source).replace(/^export declare |^export /, '')
      return `### ${name}\n\n\`\`\`ts\n${text}\n\`\`\`\n`
    })
  ])
  return [
    '# API report',
    '',
    'The public surface of `bayeux-server`: every name each entry point of `package.json`\'s',
    '`exports` exports (`bayeux-server`, from `lib/index.ts`, and its subpaths), as the emitted',
    'declarations show it to users (comments left out). Generated by `spec/support/api-report.ts`;',
    '`spec/api.test.ts` fails when the code and this file differ. A change here is a change to',
    'the public API: make it on purpose, then accept it with',
    '`node --import=tsx spec/support/api-report.ts --write`.',
    '',
    ...blocks
  ].join('\n')
}

if (process.argv.includes('--write')) writeFileSync(REPORT, apiReport())
else if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(apiReport())

export function acceptedReport (): string {
  return readFileSync(REPORT, 'utf8')
}
