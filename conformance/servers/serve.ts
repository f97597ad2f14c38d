// Starts one known server with the standard profile and prints its URL, for runs of the CLI:
// `npx tsx conformance/servers/serve.ts cometd-nodejs-server` (stop it with Ctrl-C).
import { LAUNCHERS } from './index.ts'
import { OPTIONS } from './profile.ts'

const name = process.argv[2] ?? ''
const launch = LAUNCHERS[name]
if (launch === undefined) {
  console.error(`usage: serve ${Object.keys(LAUNCHERS).join('|')}`)
  process.exit(2)
}
const server = await launch(OPTIONS)
console.log(server.url)
process.on('SIGINT', () => { void server.close().then(() => process.exit(0)) })
process.on('SIGTERM', () => { void server.close().then(() => process.exit(0)) })
