// Faye 1.4 as its README deploys it: a NodeAdapter attached to a plain http.Server.
import { createServer } from 'node:http'
import faye from 'faye'
import { announce, serverArgs } from './server-args.ts'

const { host, port, timeoutMs } = serverArgs()
const adapter = new faye.NodeAdapter({ mount: '/cometd', timeout: timeoutMs / 1000 })
const server = createServer()
adapter.attach(server)
server.listen(port, host, () => announce(server))
