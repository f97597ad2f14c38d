// CLOCK_MONOTONIC is system-wide on Linux, so timestamps taken by a publisher process can be
// compared with the receive time in a subscriber process.
export function monotonicMicros (): number {
  const [seconds, nanos] = process.hrtime()
  return seconds * 1e6 + nanos / 1e3
}
