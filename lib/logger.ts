/** The part of pino's logger the server uses; fastify's logger is one. */
export interface Logger {
  info (object: object, message?: string): void
  warn (object: object, message?: string): void
  error (object: object, message?: string): void
  debug (object: object, message?: string): void
}

export const silentLogger: Logger = { info () {}, warn () {}, error () {}, debug () {} }
