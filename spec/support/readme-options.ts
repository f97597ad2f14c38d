/** Rewrites the table of flags in README.md from lib/options.ts: `npm run docs:options`. */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { markdownTable } from '../../lib/cli.ts'

const README = fileURLToPath(new URL('../../README.md', import.meta.url))
const START = '<!-- options: generated from lib/options.ts by `npm run docs:options` -->\n'
const END = '<!-- end of options -->\n'

/** `readme` with the generated table between its markers; throws if they are missing. */
export function withOptionsTable (readme: string): string {
  const start = readme.indexOf(START)
  const end = readme.indexOf(END, start)
  if (start < 0 || end < 0) throw new Error(`README.md lacks the markers ${START.trim()} and ${END.trim()}`)
  // Blank lines around the table keep the markers from running into it.
  return `${readme.slice(0, start + START.length)}\n${markdownTable()}\n${readme.slice(end)}`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(README, withOptionsTable(readFileSync(README, 'utf8')))
}
