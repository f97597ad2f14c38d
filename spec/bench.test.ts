import t from 'tap';
import { smokeTest } from '../bench/smoke.ts';

// Faye is the reference every bench table is compared with; ours has spec/bench-ours.test.ts.
await smokeTest(t, 'faye');
