import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseDocument } from 'yaml'
import { SETTINGS, settingProblems } from './options.ts'
import type { Problem } from './options.ts'

/** What one config file gives. */
export interface ConfigFile {
  /** The file, as an absolute path. */
  readonly file: string
  /** Its settings, by camelCase name, with paths resolved against its directory; empty if it has problems. */
  readonly values: Readonly<Record<string, unknown>>
  /** What is wrong with it; `setting` is empty for a fault of the file as a whole. */
  readonly problems: readonly Problem[]
}

/**
 * Reads and validates a file of settings: JSON, or YAML if its name ends in `.yaml`
 * or `.yml`, holding one flat object keyed by the settings' camelCase names.
 * Never throws: whatever is wrong, down to a missing file, is in `problems`.
 */
export function readConfigFile (file: string, cwd: string = process.cwd()): ConfigFile {
  const absolute = resolve(cwd, file)
  const { values, problem } = parse(absolute)
  if (problem !== undefined) return { file: absolute, values: {}, problems: [{ setting: '', message: problem }] }
  // A config file naming another would make the precedence of both a puzzle.
  const nested = 'config' in values ? [{ setting: 'config', message: 'cannot be set in a config file' }] : []
  const problems = [...nested, ...settingProblems(values)]
  return problems.length > 0
    ? { file: absolute, values: {}, problems }
    : { file: absolute, values: withPathsResolved(values, dirname(absolute)), problems }
}

/** One line per problem, naming the file and the setting. */
export function problemLines ({ file, problems }: ConfigFile): string[] {
  return problems.map(({ setting, message }) => setting === '' ? `${file}: ${message}` : `${file}: ${setting}: ${message}`)
}

/** `values` with each relative path of a setting marked `path` resolved against `base`. */
export function withPathsResolved (values: Readonly<Record<string, unknown>>, base: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).map(([name, value]) => {
    if (SETTINGS[name]?.path !== true) return [name, value]
    // An empty path means "none", and stays so.
    const resolved = (path: string): string => path === '' ? path : resolve(base, path)
    return [name, Array.isArray(value) ? value.map(resolved) : resolved(value as string)]
  }))
}

function parse (file: string): { values: Record<string, unknown>, problem?: undefined } | { values?: undefined, problem: string } {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException
    return { problem: code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (error as Error).message})` }
  }
  const yaml = /\.ya?ml$/i.test(file)
  let parsed: unknown
  try {
    parsed = yaml ? yamlOf(text) : JSON.parse(text)
  } catch (error) {
    return { problem: `not valid ${yaml ? 'YAML' : 'JSON'}: ${(error as Error).message}` }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { problem: `must hold one object of settings (name: value), not ${Array.isArray(parsed) ? 'a list' : JSON.stringify(parsed)}` }
  }
  return { values: parsed as Record<string, unknown> }
}

/** The value of a YAML text; an empty one holds no settings. Throws on errors and on warnings (an unknown tag). */
function yamlOf (text: string): unknown {
  const document = parseDocument(text, { uniqueKeys: true })
  const [fault] = [...document.errors, ...document.warnings]
  // The message goes on with an excerpt of the text, after "at line L, column C:".
  if (fault !== undefined) throw new Error(fault.message.split('\n')[0]!.replace(/:$/, ''))
  return document.toJS({ maxAliasCount: 100 }) ?? {}
}
