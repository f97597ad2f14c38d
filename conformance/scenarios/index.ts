// Every scenario of the suite, in the order traces are recorded and listed.
import { ackScenarios } from './ack.ts'
import { batchingScenarios } from './batching.ts'
import { errorScenarios } from './errors.ts'
import { extensionScenarios } from './extensions.ts'
import { lifecycleScenarios } from './lifecycle.ts'
import { metaScenarios } from './meta.ts'
import { publishScenarios } from './publish.ts'
import { replayScenarios } from './replay.ts'
import type { Scenario } from './scenario.ts'
import { serviceScenarios } from './services.ts'
import { wildcardScenarios } from './wildcards.ts'

export const SCENARIOS: Scenario[] = [
  ...metaScenarios,
  ...publishScenarios,
  ...wildcardScenarios,
  ...serviceScenarios,
  ...batchingScenarios,
  ...lifecycleScenarios,
  ...ackScenarios,
  ...errorScenarios,
  ...extensionScenarios,
  ...replayScenarios
]
