import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Transport } from '../loadgen/protocol.ts';

export type ServerName = 'ours' | 'faye' | 'cometd' | 'raw-ws';

export interface ServerDefinition {
  name: ServerName;
  label: string;
  transports: Transport[];
  /** Why it cannot run here, or undefined when it can. */
  unavailable(): string | undefined;
  /** Node arguments that start it on an OS-chosen loopback port. */
  nodeArgs(timeoutMs: number): string[];
}

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const OUR_BIN = `${REPO}bin/bayeux-server`;

function script(name: string): string {
  return fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
}

function referenceServer(name: ServerName, label: string, transports: Transport[]): ServerDefinition {
  return {
    name,
    label,
    transports,
    unavailable: () => undefined,
    nodeArgs: (timeoutMs) => ['--import=tsx', script(name), '--port', '0', '--timeout', String(timeoutMs)],
  };
}

export const SERVERS: Record<ServerName, ServerDefinition> = {
  ours: {
    name: 'ours',
    label: 'bayeux-server',
    transports: ['ws', 'lp'],
    unavailable: () =>
      !existsSync(OUR_BIN) ? 'bin/bayeux-server does not exist yet' : !existsSync(`${REPO}dist/index.js`) ? 'dist/ is not built (npm run build)' : undefined,
    nodeArgs: (timeoutMs) => [OUR_BIN, '--host', '127.0.0.1', '--port', '0', '--timeout', String(timeoutMs), '--log-level', 'warn'],
  },
  faye: referenceServer('faye', 'Faye 1.4', ['ws', 'lp']),
  cometd: referenceServer('cometd', 'cometd-nodejs-server 1.2', ['lp']),
  'raw-ws': referenceServer('raw-ws', 'raw ws (limit)', ['ws']),
};
