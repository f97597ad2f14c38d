// Reviews recorded traces against docs/protocol.md's rules on server answers (§1.4-§1.6, §3, §9), as an
// aid to checking reference recordings by hand: `npx tsx conformance/record/review.ts [transport]`.
// It prints each finding with its trace, step and checklist item, and exits non-zero if any.
import { loadTraces } from '../replay/runner.ts'
import { TRANSPORTS, type Message, type Trace, type Transport } from '../trace.ts'
import { isMeta, isReply } from '../wire.ts'

interface Finding { step: number, checklist: string, text: string }

const ALPHANUMERIC = /^[A-Za-z0-9]+$/
const ERROR_SHAPE = /^\d{3}:[^:]*:/

function reviewReply (request: Message, reply: Message | undefined, transport: Transport): Array<[string, string]> {
  if (reply === undefined) return [['C09', `no reply to ${request.channel} id ${request.id}`]]
  const findings: Array<[string, string]> = []
  if (typeof reply.successful !== 'boolean') findings.push(['C11', 'successful is not a boolean'])
  if ('data' in reply) findings.push(['C54', 'reply carries data'])
  if ('subscription' in request && JSON.stringify(reply.subscription) !== JSON.stringify(request.subscription)) findings.push(['C41', 'subscription not echoed'])
  if (reply.error !== undefined && !ERROR_SHAPE.test(reply.error)) findings.push(['C07', `error "${reply.error}" is not code:args:message`])
  const lifecycle = reply.channel === '/meta/handshake' || reply.channel === '/meta/connect'
  if (lifecycle && reply.successful === true && reply.advice?.reconnect === 'handshake') findings.push(['C18', 'successful reply advises handshake'])
  if (lifecycle && reply.error?.startsWith('402') === true && reply.advice?.reconnect !== 'handshake') findings.push(['C26', '402 without reconnect:handshake'])
  if (reply.channel === '/meta/handshake' && reply.successful === true) {
    if (typeof reply.clientId !== 'string' || !ALPHANUMERIC.test(reply.clientId)) findings.push(['C15', 'clientId missing or not alphanumeric'])
    if (reply.version !== '1.0') findings.push(['C15', 'version is not "1.0"'])
    const types = reply.supportedConnectionTypes
    if (!Array.isArray(types) || !types.includes(transport)) findings.push(['C19', `supportedConnectionTypes lacks ${transport}`])
    const advice = reply.advice
    if (advice?.reconnect !== 'retry' || !Number.isInteger(advice.interval) || !Number.isInteger(advice.timeout)) findings.push(['C16', 'advice must be {reconnect:"retry", interval, timeout}'])
  }
  return findings
}

function reviewDelivered (message: Message, remoteCallIds: Set<string>): Array<[string, string]> {
  const findings: Array<[string, string]> = []
  const serverDisconnect = message.channel === '/meta/disconnect'
  if (!serverDisconnect && !('data' in message)) findings.push(['C55', `event on ${message.channel} without data`])
  if ('clientId' in message) findings.push(['C56', 'event carries a clientId'])
  if ('id' in message && !remoteCallIds.has(String(message.id))) findings.push(['C57', 'event carries an id'])
  return findings
}

function review (trace: Trace): Finding[] {
  const findings: Finding[] = []
  const transport = trace.meta.transport
  const add = (step: number, list: Array<[string, string]>): void => { for (const [checklist, text] of list) findings.push({ step, checklist, text }) }
  const sentOnSocket = new Map<number, Message[]>()
  const receivedOnSocket = new Map<number, Array<{ step: number, message: Message }>>()
  for (const step of trace.steps) {
    if (step.kind === 'http') {
      const messages = step.response.messages ?? []
      if (step.response.status !== 200) continue
      if (messages.length === 0) add(step.step, [['C05', 'HTTP 200 without a non-empty JSON array']])
      const jsonp = step.request.method === 'GET'
      if (!(step.response.contentType ?? '').includes(jsonp ? 'javascript' : 'application/json')) add(step.step, [[jsonp ? 'C84' : 'C82', `Content-Type ${step.response.contentType}`]])
      const remoteCalls = new Set(step.request.messages.filter(m => String(m.channel).startsWith('/service/')).map(m => String(m.id)))
      for (const request of step.request.messages) {
        if (request.id !== undefined) add(step.step, reviewReply(request, messages.find(m => isReply(m) && m.id === request.id && m.channel === request.channel), transport))
      }
      for (const message of messages.filter(m => !isReply(m))) add(step.step, reviewDelivered(message, remoteCalls))
    }
    if (step.kind === 'ws-send') sentOnSocket.set(step.connection, [...(sentOnSocket.get(step.connection) ?? []), ...step.messages])
    if (step.kind === 'ws-receive') {
      const list = receivedOnSocket.get(step.connection) ?? []
      receivedOnSocket.set(step.connection, [...list, ...step.messages.map(message => ({ step: step.step, message }))])
    }
  }
  for (const [connection, sent] of sentOnSocket) {
    const received = receivedOnSocket.get(connection) ?? []
    const remoteCalls = new Set(sent.filter(m => String(m.channel).startsWith('/service/')).map(m => String(m.id)))
    const closedByClient = trace.steps.some(s => s.kind === 'ws-close' && s.connection === connection && s.by === 'client')
    for (const request of sent.filter(m => m.id !== undefined)) {
      const reply = received.find(r => isReply(r.message) && r.message.id === request.id && r.message.channel === request.channel)
      // A connect still held when the client closed its socket (page reload) is never answered.
      if (reply === undefined && closedByClient && request.channel === '/meta/connect') continue
      add(reply?.step ?? -1, reviewReply(request, reply?.message, transport))
    }
    for (const { step, message } of received.filter(r => !isReply(r.message) || (isMeta(r.message.channel) && r.message.id === undefined))) add(step, reviewDelivered(message, remoteCalls))
  }
  return findings
}

const transport = process.argv[2] as Transport | undefined
if (transport !== undefined && !TRANSPORTS.includes(transport)) {
  console.error(`usage: review [${TRANSPORTS.join('|')}]`)
  process.exit(2)
}
let total = 0
for (const trace of await loadTraces(transport === undefined ? {} : { transport })) {
  const findings = review(trace)
  total += findings.length
  const deviations = trace.meta.deviations.map(d => `corrected at step ${d.step} [${d.checklist}]`)
  console.log(`${findings.length === 0 ? 'clean' : 'CHECK'} ${trace.meta.transport}/${trace.scenario} (recorded against ${trace.meta.server.name} ${trace.meta.server.version})${deviations.length > 0 ? `; ${deviations.join(', ')}` : ''}`)
  for (const finding of findings) console.log(`  step ${finding.step}: ${finding.text} [${finding.checklist}]`)
}
process.exit(total === 0 ? 0 : 1)
