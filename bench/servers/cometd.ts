// cometd-nodejs-server 1.2.1 (long-polling only) as its README deploys it.
import { createServer } from 'node:http'
import cometdServer from 'cometd-nodejs-server'
import { announce, serverArgs } from './server-args.ts'

const { host, port, timeoutMs, maxIntervalMs } = serverArgs()
const cometd = cometdServer.createCometDServer({ timeout: timeoutMs, maxInterval: maxIntervalMs })
const server = createServer(cometd.handle)
server.listen(port, host, () => announce(server))
