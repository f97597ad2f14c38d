// Every scenario of the suite, in the order traces are recorded and listed.
import { metaScenarios } from './meta.ts'
import type { Scenario } from './scenario.ts'

export const SCENARIOS: Scenario[] = [
  ...metaScenarios
]
