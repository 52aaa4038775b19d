import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseLabelSelector } from '../api/selectors/label-selector.ts'
import { IndexedCache, Lister, objectKey, splitKey } from './cache.ts'
import type { ObjectLike } from './resource.ts'

interface Pod extends ObjectLike {
  spec?: { nodeName?: string }
}

const pod = (ns: string, name: string, node: string, labels: Record<string, string> = {}): Pod => ({
  metadata: { namespace: ns, name, labels },
  spec: { nodeName: node },
})

test('keys are namespace/name, or the name alone for cluster-scoped objects', () => {
  assert.equal(objectKey(pod('default', 'web', '')), 'default/web')
  assert.equal(objectKey({ metadata: { name: 'node-1' } }), 'node-1')
  assert.deepEqual(splitKey('default/web'), { namespace: 'default', name: 'web' })
  assert.deepEqual(splitKey('node-1'), { namespace: '', name: 'node-1' })
})

test('indexes follow replacements and deletions, including an index added later', () => {
  const cache = new IndexedCache<Pod>()
  cache.set(pod('a', 'p1', 'n1'))
  cache.set(pod('a', 'p2', 'n1'))
  cache.set(pod('b', 'p3', 'n2'))
  cache.addIndex('node', (p) => [p.spec?.nodeName ?? ''])
  const names = (ps: readonly Pod[]) => ps.map((p) => p.metadata?.name).sort()
  assert.deepEqual(names(cache.byIndex('node', 'n1')), ['p1', 'p2'])
  const old = cache.set(pod('a', 'p2', 'n2'))
  assert.equal(old?.spec?.nodeName, 'n1')
  assert.deepEqual(names(cache.byIndex('node', 'n1')), ['p1'])
  assert.deepEqual(names(cache.byIndex('node', 'n2')), ['p2', 'p3'])
  cache.delete('b/p3')
  assert.deepEqual(names(cache.byIndex('node', 'n2')), ['p2'])
  assert.deepEqual(names(cache.byIndex('namespace', 'b')), [])
  assert.throws(() => cache.byIndex('zone', 'x'), /no index zone/)
  assert.throws(() => cache.addIndex('node', () => []), /exists already/)
})

test('a lister reads by name, by namespace and by label selector', () => {
  const cache = new IndexedCache<Pod>()
  cache.set(pod('a', 'web', 'n1', { app: 'web' }))
  cache.set(pod('a', 'db', 'n1', { app: 'db' }))
  cache.set(pod('b', 'web', 'n1', { app: 'web' }))
  const lister = new Lister(cache)
  assert.equal(lister.get('a', 'db')?.metadata?.labels?.app, 'db')
  assert.equal(lister.get('c', 'db'), undefined)
  assert.equal(lister.list().length, 3)
  assert.equal(lister.list('a').length, 2)
  assert.deepEqual(lister.list(undefined, parseLabelSelector('app=web')).map(objectKey).sort(), [
    'a/web',
    'b/web',
  ])
})
