// The server-side behaviour every trace assumes ("profile"). Any server under test must be set up
// this way (see conformance/README.md); the launchers in this directory do it for the servers we know.
import type { ReadOracle } from '../replay/server-reads.ts'
import type { ServerOptions } from '../trace.ts'

export const PROFILE = 'standard'

export const OPTIONS: ServerOptions = { path: '/cometd', timeout: 1500, interval: 0, maxInterval: 2000 }

/** Remote-call responder: answers the caller on this channel with the request id and its data (C66). */
export const ECHO_CHANNEL = '/service/echo'
/** Publishing here makes the server disconnect the publisher's session (server-initiated, C74). */
export const KICK_CHANNEL = '/service/kick'
/** The security policy refuses subscribing and publishing under this prefix (C49, C69). */
export const FORBIDDEN_PREFIX = '/forbidden/'

/**
 * The server keeps the history of the channels under this prefix and speaks the replay extension
 * (docs/replay.md); replay scenarios use `/history/<scenario>/...` channels. Optional, as the
 * acknowledge extension is: a server without it fails the replay traces, and only those.
 */
export const HISTORY_PREFIX = '/history'

export function isForbidden (channel: string): boolean {
  return channel.startsWith(FORBIDDEN_PREFIX)
}

export interface RunningServer {
  name: string
  version: string
  url: string
  /** For a server in this process: what it has read of a client connection (replay ordering). */
  hasRead?: ReadOracle
  close (): Promise<void>
}

/** Starts a server on a loopback port chosen by the OS, configured with `options` and the profile. */
export type Launcher = (options: ServerOptions) => Promise<RunningServer>
