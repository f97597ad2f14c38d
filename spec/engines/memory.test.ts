import t from 'tap'
import { MemoryEngine } from '../../lib/engines/memory.ts'
import { engineContract } from './contract.ts'

engineContract(t, () => new MemoryEngine())
