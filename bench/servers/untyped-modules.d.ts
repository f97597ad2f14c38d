declare module 'faye' {
  import type { Server } from 'node:http'
  export class NodeAdapter {
    constructor (options: { mount: string, timeout: number })
    attach (server: Server): void
  }
  const faye: { NodeAdapter: typeof NodeAdapter }
  export default faye
}
