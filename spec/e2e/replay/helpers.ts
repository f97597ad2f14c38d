/** What the replay e2e tests share: bounded waiting, and numbered events published from the server. */
import type { RunningServer } from '../../../lib/index.ts'

/**
 * Polls `condition` for up to five seconds; the assertions after it then show what was missing,
 * rather than a test that hangs until tap's timeout.
 */
export async function until (condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise(resolve => setTimeout(resolve, 10))
}

/** Publishes `{ n }` for n = from..to on `channel`, from the server, one after the other. */
export async function publishNumbered (server: RunningServer, channel: string, from: number, to: number): Promise<void> {
  for (let n = from; n <= to; n++) await server.bayeux.publish(channel, { n })
}
