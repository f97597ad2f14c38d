// Loaded into a server under test (`node --import=<this file>`, round-trip.ts --gc): the first
// SIGUSR2 starts recording its garbage collections, the next writes what it allocated and
// collected in between to gc.<pid>.json in BENCH_GC_PROBE_DIR. Plain JavaScript, since our
// server runs from dist/ without tsx.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { GCProfiler, getHeapSpaceStatistics, getHeapStatistics } from 'node:v8'

let profiler
let usedAtStart = 0

process.on('SIGUSR2', () => {
  if (profiler === undefined) {
    profiler = new GCProfiler()
    profiler.start()
    usedAtStart = getHeapStatistics().used_heap_size
    return
  }
  const usedAtEnd = getHeapStatistics().used_heap_size
  const { statistics } = profiler.stop()
  profiler = undefined
  // Allocated: what the heap grew by between collections, the growth after the last included.
  let allocatedBytes = 0
  let used = usedAtStart
  for (const collection of statistics) {
    allocatedBytes += collection.beforeGC.heapStatistics.usedHeapSize - used
    used = collection.afterGC.heapStatistics.usedHeapSize
  }
  allocatedBytes += usedAtEnd - used
  writeFileSync(join(process.env.BENCH_GC_PROBE_DIR, `gc.${process.pid}.json`), JSON.stringify({
    allocatedBytes,
    scavenges: statistics.filter((collection) => collection.gcType === 'Scavenge').length,
    // How far V8 has grown the young generation (both semi-spaces): it grows as scavenges
    // keep objects, start-up's included, and a larger one spreads allocation over more cache.
    newSpaceBytes: getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').space_size
  }))
})
