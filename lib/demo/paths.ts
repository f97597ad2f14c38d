import { basePath } from '../transports/paths.ts'

/** Where the demo lives: its page at `/`, its files under `/demo/`. */
export const DEMO_PAGE = '/'
export const DEMO_FILES = '/demo'
/** The channels of the demo page: the chat, and the figures the server publishes. */
export const CHAT_CHANNEL = '/demo/chat'
export const STATS_CHANNEL = '/demo/stats'

/**
 * Why the demo cannot be served next to a Bayeux endpoint at `path`, or undefined
 * when it can: the endpoint also serves `<path>/<anything>`, so it must leave `/`
 * and `/demo/` to the demo. Kept apart from the demo itself so that the CLI can
 * check it without loading the page.
 */
export function demoPathConflict (path: string): string | undefined {
  const base = basePath(path)
  if (base === '') return `the demo page needs ${DEMO_PAGE}, which the Bayeux path ${JSON.stringify(path)} takes; choose another path`
  if (base === DEMO_FILES || base.startsWith(`${DEMO_FILES}/`)) {
    return `the demo serves its files under ${DEMO_FILES}/, which the Bayeux path ${JSON.stringify(path)} overlaps; choose another path`
  }
  return undefined
}
