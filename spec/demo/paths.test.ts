/** lib/demo/paths.ts: which Bayeux paths leave room for the demo page. */
import t from 'tap'
import { demoPathConflict } from '../../lib/demo/paths.ts'

t.test('the demo needs / and /demo/ left to it by the Bayeux endpoint', async t => {
  for (const path of ['/cometd', '/cometd/', '/bayeux/v1', '/demos', '/demo-chat', '/x/demo']) {
    t.equal(demoPathConflict(path), undefined, path)
  }
  t.match(demoPathConflict('/'), /the demo page needs \/, which the Bayeux path "\/" takes/)
  for (const path of ['/demo', '/demo/', '/demo/cometd']) {
    t.match(demoPathConflict(path), /the demo serves its files under \/demo\/, which the Bayeux path .* overlaps/, path)
  }
})
