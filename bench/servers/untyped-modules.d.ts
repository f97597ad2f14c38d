declare module 'faye' {
  import type { Server } from 'node:http'
  export class NodeAdapter {
    constructor (options: { mount: string, timeout: number, engine?: { type: unknown } & Record<string, unknown> })
    attach (server: Server): void
  }
  const faye: { NodeAdapter: typeof NodeAdapter }
  export default faye
}

declare module 'faye-redis' {
  /** The engine class; Faye constructs it from the `engine` option's `type`. */
  const engine: unknown
  export default engine
}
