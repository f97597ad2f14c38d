import { readSettings, serverOptionsOf } from '../../lib/cli.ts'

/** What the CLI would give createServer for these flags and variables (in this process). */
export function readOptions (argv: string[], env: NodeJS.ProcessEnv): ReturnType<typeof serverOptionsOf> {
  const settings = readSettings(argv, env)
  if (settings === 'help') throw new Error('--help')
  return serverOptionsOf(settings)
}
