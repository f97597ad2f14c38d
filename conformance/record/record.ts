// Records one scenario over one transport against one server: launches the server with the
// standard profile, puts the recording proxy in front of it, runs the scenario, writes the trace.
import { createRequire } from 'node:module'
import { isDeepStrictEqual } from 'node:util'
import type { Client, ClientFeatures } from '../scenarios/harness.ts'
import type { Correction, Scenario, ScenarioContext } from '../scenarios/scenario.ts'
import { OPTIONS, PROFILE, type Launcher } from '../servers/profile.ts'
import type { Deviation, Message, Trace, TraceStep, Transport } from '../trace.ts'
import { RecordingProxy, type Assets } from './proxy.ts'

const require = createRequire(import.meta.url)

export interface ClientDriver {
  runtime: string
  create (url: string, transport: Transport, features: ClientFeatures): Promise<Client>
  /** Files the proxy must serve to the clients (a browser page), if any. */
  assets?: Assets
}

const SCENARIO_LIMIT_MS = 30000

export async function recordScenario (scenario: Scenario, transport: Transport, launch: Launcher, driver: ClientDriver): Promise<Trace> {
  const server = await launch(OPTIONS)
  const proxy = new RecordingProxy(server.url, driver.assets)
  const clients: Client[] = []
  const urls = new Map<string, string>()
  const context: ScenarioContext = {
    transport,
    async client (label: string, features: ClientFeatures = {}) {
      let url = urls.get(label)
      if (url === undefined) {
        url = await proxy.addClient(label)
        urls.set(label, url)
      }
      const client = await driver.create(url, transport, features)
      clients.push(client)
      return client
    },
    partition: label => proxy.partition(label),
    dropResponse: (label, filter) => proxy.dropResponse(label, filter),
    channel: name => `/${scenario.name}/${name}`,
    sleep: ms => new Promise(resolve => setTimeout(resolve, ms))
  }
  try {
    await withTimeout(scenario.run(context), SCENARIO_LIMIT_MS, `scenario ${scenario.name} (${transport})`)
    const steps = await proxy.finish(OPTIONS.timeout + 1000)
    await Promise.all(clients.map(client => client.stop()))
    const { version } = require('cometd/package.json') as { version: string }
    return {
      format: 'bayeux-conformance-trace/1',
      scenario: scenario.name,
      description: scenario.description,
      checklist: scenario.checklist,
      meta: {
        client: { name: 'cometd', version, runtime: driver.runtime },
        transport,
        server: { name: server.name, version: server.version },
        options: OPTIONS,
        profile: PROFILE,
        recordedAt: new Date().toISOString(),
        checkedAgainst: 'docs/protocol.md',
        deviations: applyCorrections(steps, scenario.corrections ?? [])
      },
      steps
    }
  } finally {
    await proxy.close()
    await server.close()
  }
}

/** Rewrites what clients received where the scenario's corrections apply and lists what was changed. */
function applyCorrections (steps: TraceStep[], corrections: Correction[]): Deviation[] {
  const deviations: Deviation[] = []
  const history = new Map<string, Message[]>()
  const sentOnSocket = new Map<number, Message[]>()
  const correct = (step: TraceStep, received: Message[], sent: Message[]): Message[] => {
    const earlier = history.get(step.client) ?? []
    let messages = received
    for (const correction of corrections) {
      const corrected = correction.correct(messages, earlier, sent)
      if (!isDeepStrictEqual(corrected, messages)) deviations.push({ step: step.step, checklist: correction.checklist, recorded: messages, note: correction.note })
      messages = corrected
    }
    const seen = !(step.kind === 'http' && step.dropped === true)
    if (seen) history.set(step.client, [...earlier, ...messages])
    return messages
  }
  for (const step of steps) {
    if (step.kind === 'ws-send') sentOnSocket.set(step.connection, [...(sentOnSocket.get(step.connection) ?? []), ...step.messages])
    if (step.kind === 'http' && step.response.messages !== null) step.response.messages = correct(step, step.response.messages, step.request.messages)
    if (step.kind === 'ws-receive') step.messages = correct(step, step.messages, sentOnSocket.get(step.connection) ?? [])
  }
  return deviations
}

async function withTimeout<T> (work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms) })
  try {
    return await Promise.race([work, limit])
  } finally {
    clearTimeout(timer)
  }
}
