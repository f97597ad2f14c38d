/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for tests
 * that scrape /metrics: every family has its HELP and TYPE before its samples, every
 * sample line parses, and values are read by name and labels.
 */

export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface Family {
  readonly name: string
  readonly type: string
  readonly help: string
  readonly samples: Sample[]
}

const HELP = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/
const TYPE = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y

/** The samples a family may have: histograms add _bucket, _sum and _count. */
function belongs (sample: string, family: Family): boolean {
  if (sample === family.name) return true
  const suffixes = family.type === 'histogram' ? ['_bucket', '_sum', '_count'] : family.type === 'summary' ? ['_sum', '_count'] : []
  return suffixes.some(suffix => sample === family.name + suffix)
}

function parseLabels (text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {}
  LABEL.lastIndex = 0
  while (LABEL.lastIndex < text.length) {
    const start = LABEL.lastIndex
    const match = LABEL.exec(text)
    if (match === null || match.index !== start) throw new Error(`bad labels in ${JSON.stringify(line)}`)
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, char: string) => char === 'n' ? '\n' : char)
  }
  return labels
}

/** Prometheus reads values as Go's ParseFloat does: NaN and Inf in any case (prom-client writes `Nan`). */
function parseValue (text: string, line: string): number {
  const special = text.toLowerCase()
  if (special === '+inf' || special === 'inf') return Infinity
  if (special === '-inf') return -Infinity
  if (special === 'nan') return NaN
  const value = Number(text)
  if (text === '' || Number.isNaN(value)) throw new Error(`bad value in ${JSON.stringify(line)}`)
  return value
}

/** Parses a scrape; throws on anything the format does not allow. */
export function parsePrometheus (text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  let current: Family | undefined
  let help: [string, string] | undefined
  for (const line of text.split('\n')) {
    if (line === '') continue
    const helpLine = HELP.exec(line)
    if (helpLine !== null) {
      help = [helpLine[1]!, helpLine[2]!]
      continue
    }
    const typeLine = TYPE.exec(line)
    if (typeLine !== null) {
      const name = typeLine[1]!
      if (help?.[0] !== name) throw new Error(`TYPE of ${name} without its HELP just before`)
      if (families.has(name)) throw new Error(`family ${name} twice`)
      current = { name, type: typeLine[2]!, help: help[1], samples: [] }
      families.set(name, current)
      help = undefined
      continue
    }
    if (line.startsWith('#')) throw new Error(`unexpected comment ${JSON.stringify(line)}`)
    const sample = SAMPLE.exec(line)
    if (sample === null) throw new Error(`not a sample: ${JSON.stringify(line)}`)
    if (current === undefined || !belongs(sample[1]!, current)) throw new Error(`sample ${sample[1]} outside its family`)
    current.samples.push({ name: sample[1]!, labels: parseLabels(sample[2] ?? '', line), value: parseValue(sample[3]!, line) })
  }
  return families
}

/** The scrape, read by sample name and labels. */
export class Scrape {
  readonly families: Map<string, Family>

  constructor (text: string) {
    this.families = parsePrometheus(text)
  }

  /** The value of the one sample named `name` whose labels include `labels`; undefined if none. */
  value (name: string, labels: Record<string, string> = {}): number | undefined {
    const matching = this.samples(name).filter(sample => Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    if (matching.length > 1) throw new Error(`${matching.length} samples of ${name} match ${JSON.stringify(labels)}`)
    return matching[0]?.value
  }

  /** The sum of the samples named `name` whose labels include `labels`. */
  sum (name: string, labels: Record<string, string> = {}): number {
    return this.samples(name)
      .filter(sample => Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
      .reduce((total, sample) => total + sample.value, 0)
  }

  samples (name: string): Sample[] {
    return [...this.families.values()].flatMap(family => family.samples.filter(sample => sample.name === name))
  }
}
