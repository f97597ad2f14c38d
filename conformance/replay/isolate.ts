// Gives one replay of a trace channels of its own: scenario channels (`/<scenario>/...`) become
// `/<scenario>-<token>/...` in requests and expected answers alike, so traces replayed side by
// side (the same scenario over two transports, or two runs against one server) never see each
// other's events.
import { randomBytes } from 'node:crypto'
import type { Message, Trace, TraceStep } from '../trace.ts'

export function isolate (trace: Trace): Trace {
  const prefix = `/${trace.scenario}/`
  const renamed = `/${trace.scenario}-${randomBytes(4).toString('hex')}/`
  const rename = (value: unknown): unknown => typeof value === 'string' && value.startsWith(prefix) ? renamed + value.slice(prefix.length) : value
  const renameAll = (messages: Message[]): Message[] => messages.map(message => {
    const copy: Message = { ...message }
    if ('channel' in copy) copy.channel = rename(copy.channel) as string
    if (Array.isArray(copy.subscription)) copy.subscription = copy.subscription.map(rename) as string[]
    else if ('subscription' in copy) copy.subscription = rename(copy.subscription) as string
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
