// Top self-time functions of V8 .cpuprofile files (from --cpu-prof), as shares of the time the
// process was busy (idle samples left out), e.g.
//   node --import=tsx bench/orchestration/profile-summary.ts /tmp/prof/CPU.*.cpuprofile
// With GROUP=package, self time is summed by where the code lives instead: each npm package,
// this server (dist/ or lib/), Node's own JavaScript (node:), and V8/native entries by name.
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const TOP = Number(process.env.TOP ?? 25)
const BY_PACKAGE = process.env.GROUP === 'package'

/** Where a frame's code lives, for GROUP=package. */
function packageOf (frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame
  if (url === '') return functionName.startsWith('(') ? functionName : `native ${functionName}`
  if (url.startsWith('node:')) return 'node:'
  const modules = url.lastIndexOf('/node_modules/')
  if (modules >= 0) {
    const [scope, name] = url.slice(modules + '/node_modules/'.length).split('/')
    return scope!.startsWith('@') ? `${scope}/${name}` : scope!
  }
  return /\/(dist|lib)\//.test(url) ? 'bayeux-server' : url
}

for (const file of process.argv.slice(2)) {
  const profile: Profile = JSON.parse(readFileSync(file, 'utf8'))
  const frameOf = new Map(profile.nodes.map((node) => [node.id, node.callFrame]))
  const selfMicros = new Map<string, number>()
  let total = 0
  profile.samples.forEach((id, index) => {
    const frame = frameOf.get(id)!
    const where = frame.url === '' ? '' : ` ${relative(process.cwd(), frame.url.replace('file://', ''))}:${frame.lineNumber + 1}`
    const key = BY_PACKAGE ? packageOf(frame) : `${frame.functionName || '(anonymous)'}${where}`
    const delta = profile.timeDeltas[index] ?? 0
    if (frame.functionName === '(idle)') return
    selfMicros.set(key, (selfMicros.get(key) ?? 0) + delta)
    total += delta
  })
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s busy`)
  const ranked = [...selfMicros].sort((a, b) => b[1] - a[1]).slice(0, TOP)
  for (const [key, micros] of ranked) console.log(`${((100 * micros) / total).toFixed(1).padStart(5)}%  ${key}`)
}
