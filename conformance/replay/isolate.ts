// Gives one replay of a trace channels of its own: scenario channels (`/<scenario>/...`, and
// `/history/<scenario>/...` for the replay extension's) become `/<scenario>-<token>/...` in
// requests and expected answers alike, so traces replayed side by side (the same scenario over
// two transports, or two runs against one server) never see each other's events. The channels
// named in a subscribe's `ext.replay` map are renamed too.
import { randomBytes } from 'node:crypto'
import type { Message, Trace, TraceStep } from '../trace.ts'
import { HISTORY_PREFIX } from '../servers/profile.ts'

export function isolate (trace: Trace): Trace {
  const renamed = `/${trace.scenario}-${randomBytes(4).toString('hex')}/`
  const rename = (value: unknown): unknown => {
    if (typeof value !== 'string') return value
    for (const base of ['', HISTORY_PREFIX]) {
      const prefix = `${base}/${trace.scenario}/`
      if (value.startsWith(prefix)) return base + renamed + value.slice(prefix.length)
    }
    return value
  }
  const renameAll = (messages: Message[]): Message[] => messages.map(message => {
    const copy: Message = { ...message }
    if ('channel' in copy) copy.channel = rename(copy.channel) as string
    if (Array.isArray(copy.subscription)) copy.subscription = copy.subscription.map(rename) as string[]
    else if ('subscription' in copy) copy.subscription = rename(copy.subscription) as string
    const replay = copy.ext?.replay
    if (copy.channel === '/meta/subscribe' && typeof replay === 'object' && replay !== null) {
      copy.ext = { ...copy.ext, replay: Object.fromEntries(Object.entries(replay).map(([channel, id]) => [rename(channel), id])) }
    }
    return copy
  })
  const steps = trace.steps.map((step): TraceStep => {
    switch (step.kind) {
      case 'http': return {
        ...step,
        request: { ...step.request, messages: renameAll(step.request.messages) },
        response: { ...step.response, messages: step.response.messages === null ? null : renameAll(step.response.messages) }
      }
      case 'ws-send':
      case 'ws-receive': return { ...step, messages: renameAll(step.messages) }
      default: return step
    }
  })
  return { ...trace, steps }
}
