import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { schemaForKind, type SchemaNode } from '../schema.ts'
import { PatchError } from './json-patch.ts'
import { applyMergePatch } from './merge-patch.ts'
import { applyStrategicMergePatch } from './strategic-merge-patch.ts'

const deploymentSchema = schemaForKind({ group: 'apps', version: 'v1', kind: 'Deployment' })
const podSchema = schemaForKind({ group: '', version: 'v1', kind: 'Pod' })
const serviceSchema = schemaForKind({ group: '', version: 'v1', kind: 'Service' })

interface Case {
  name: string
  schema?: SchemaNode | undefined
  original: unknown
  patch: unknown
  want: unknown
}

function run(cases: readonly Case[]): void {
  for (const c of cases) {
    test(c.name, () => {
      const original = structuredClone(c.original)
      const patch = structuredClone(c.patch)
      const schema = 'schema' in c ? c.schema : podSchema
      assert.deepEqual(applyStrategicMergePatch(original, patch, schema), c.want)
      assert.deepEqual(original, c.original, 'the original is not changed')
      assert.deepEqual(patch, c.patch, 'the patch is not changed')
    })
  }
}

/** A pod whose spec is `spec`. */
const pod = (spec: Record<string, unknown>) => ({ spec })
/** A pod with containers of these names (image = name). */
const podWith = (...names: string[]) => pod({ containers: names.map((n) => ({ name: n, image: n })) })

/** "Update API Objects in Place Using kubectl patch" (kubernetes.io tasks). */
describe('the kubectl patch task on kubernetes.io', () => {
  const patchDemo = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'patch-demo' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'nginx' } },
      template: {
        metadata: { labels: { app: 'nginx' } },
        spec: {
          containers: [{ name: 'patch-demo-ctr', image: 'nginx' }],
          tolerations: [{ effect: 'NoSchedule', key: 'dedicated', value: 'test-team' }],
        },
      },
    },
  }
  const template = (o: unknown) => (o as typeof patchDemo).spec.template.spec

  test('containers merge by name, and the added container comes first, as the task shows', () => {
    const patch = {
      spec: { template: { spec: { containers: [{ name: 'patch-demo-ctr-2', image: 'redis' }] } } },
    }
    assert.deepEqual(template(applyStrategicMergePatch(patchDemo, patch, deploymentSchema)).containers, [
      { name: 'patch-demo-ctr-2', image: 'redis' },
      { name: 'patch-demo-ctr', image: 'nginx' },
    ])
  })

  test('tolerations have no patch strategy, so the list is replaced', () => {
    const patch = {
      spec: {
        template: { spec: { tolerations: [{ effect: 'NoSchedule', key: 'disktype', value: 'ssd' }] } },
      },
    }
    const out = template(applyStrategicMergePatch(patchDemo, patch, deploymentSchema))
    assert.deepEqual(out.tolerations, [{ effect: 'NoSchedule', key: 'disktype', value: 'ssd' }])
    assert.deepEqual(out.containers, patchDemo.spec.template.spec.containers)
  })

  test('the same containers patch as a JSON merge patch replaces the list', () => {
    const patch = {
      spec: {
        template: {
          spec: { containers: [{ name: 'patch-demo-ctr-3', image: 'gcr.io/google-samples/node-hello:1.0' }] },
        },
      },
    }
    assert.deepEqual(template(applyMergePatch(patchDemo, patch)).containers, [
      { name: 'patch-demo-ctr-3', image: 'gcr.io/google-samples/node-hello:1.0' },
    ])
  })

  const retainkeysDemo = {
    spec: {
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '30%' } },
      template: patchDemo.spec.template,
    },
  }

  test('without $retainKeys, a new strategy type keeps rollingUpdate (which validation then refuses)', () => {
    const out = applyStrategicMergePatch(
      retainkeysDemo,
      { spec: { strategy: { type: 'Recreate' } } },
      deploymentSchema,
    )
    assert.deepEqual((out as typeof retainkeysDemo).spec.strategy, {
      type: 'Recreate',
      rollingUpdate: { maxSurge: '30%' },
    })
  })

  test('$retainKeys: [type] clears rollingUpdate while type becomes Recreate', () => {
    const patch = { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }
    const out = applyStrategicMergePatch(retainkeysDemo, patch, deploymentSchema) as typeof retainkeysDemo
    assert.deepEqual(out.spec.strategy, { type: 'Recreate' })
    assert.deepEqual(out.spec.template, retainkeysDemo.spec.template)
  })

  test('every field the patch sets must be in $retainKeys', () => {
    const patch = {
      spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: { maxSurge: 1 } } },
    }
    assert.throws(
      () => applyStrategicMergePatch(retainkeysDemo, patch, deploymentSchema),
      (err: unknown) =>
        err instanceof PatchError &&
        err.kind === 'decode' &&
        err.message ===
          'invalid patch format of retainKeys: the patch sets "rollingUpdate", which $retainKeys does not list',
    )
  })
})

/** The directives of kubernetes/community's strategic-merge-patch.md. */
describe('directives', () => {
  run([
    {
      name: '$patch: replace in a map takes the map as the patch has it',
      original: pod({
        containers: [{ name: 'nginx', image: 'nginx-0.9' }],
        hostname: 'h',
        restartPolicy: 'Always',
      }),
      patch: pod({ $patch: 'replace', containers: [{ name: 'nginx', image: 'nginx-1.0' }] }),
      want: pod({ containers: [{ name: 'nginx', image: 'nginx-1.0' }] }),
    },
    {
      name: '$patch: replace as a list item makes the other items the whole list',
      original: podWith('nginx', 'log-tailer'),
      patch: pod({ containers: [{ name: 'nginx', image: 'nginx-1.0' }, { $patch: 'replace' }] }),
      want: pod({ containers: [{ name: 'nginx', image: 'nginx-1.0' }] }),
    },
    {
      name: 'a lone $patch: replace item empties a merged list',
      original: podWith('a', 'b'),
      patch: pod({ containers: [{ $patch: 'replace' }] }),
      want: pod({ containers: [] }),
    },
    {
      name: '$patch: delete with the merge key removes that item',
      original: podWith('nginx', 'log-tailer'),
      patch: pod({
        containers: [
          { name: 'nginx', image: 'nginx-1.0' },
          { $patch: 'delete', name: 'log-tailer' },
        ],
      }),
      want: pod({ containers: [{ name: 'nginx', image: 'nginx-1.0' }] }),
    },
    {
      name: '$patch: delete removes every item with that key, duplicates included',
      original: pod({
        containers: [
          { name: 'a', image: '1' },
          { name: 'a', image: '2' },
          { name: 'b', image: 'b' },
          { name: 'c', image: '1' },
          { name: 'c', image: '2' },
        ],
      }),
      patch: pod({
        containers: [
          { name: 'a', $patch: 'delete' },
          { name: 'c', $patch: 'delete' },
        ],
      }),
      want: podWith('b'),
    },
    {
      name: '$patch: delete of an item the list does not have changes nothing',
      original: podWith('a'),
      patch: pod({ containers: [{ name: 'zz', $patch: 'delete' }] }),
      want: podWith('a'),
    },
    {
      name: '$patch: delete in a map leaves it empty (apimachinery returns an empty map)',
      schema: deploymentSchema,
      original: { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } },
      patch: { spec: { strategy: { rollingUpdate: { $patch: 'delete' } } } },
      want: { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: {} } } },
    },
    {
      name: 'null deletes the map, as the SIG document says',
      schema: deploymentSchema,
      original: { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } },
      patch: { spec: { strategy: { rollingUpdate: null } } },
      want: { spec: { strategy: { type: 'RollingUpdate' } } },
    },
    {
      name: '$patch: delete at the top empties the object',
      original: podWith('a'),
      patch: { $patch: 'delete' },
      want: {},
    },
    {
      name: '$patch: replace with only the directive empties a map',
      original: { metadata: { labels: { a: '1', b: '2' } } },
      patch: { metadata: { labels: { $patch: 'replace' } } },
      want: { metadata: { labels: {} } },
    },
    {
      name: '$patch: replace with keys keeps only those',
      original: { metadata: { labels: { a: '1', b: '2' } } },
      patch: { metadata: { labels: { $patch: 'replace', c: '3' } } },
      want: { metadata: { labels: { c: '3' } } },
    },
    {
      name: 'a map holding $patch for a key the original lacks is dropped, as apimachinery drops it',
      original: { metadata: { name: 'p' } },
      patch: { metadata: { labels: { $patch: 'replace', c: '3' } } },
      want: { metadata: { name: 'p' } },
    },
    {
      name: '$deleteFromPrimitiveList/finalizers removes those values',
      original: { metadata: { finalizers: ['a', 'b', 'c'] } },
      patch: { metadata: { '$deleteFromPrimitiveList/finalizers': ['b', 'c'] } },
      want: { metadata: { finalizers: ['a'] } },
    },
    {
      name: '$deleteFromPrimitiveList removes every copy of a duplicated value',
      original: { metadata: { finalizers: ['a', 'b', 'a'] } },
      patch: { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } },
      want: { metadata: { finalizers: ['b'] } },
    },
    {
      name: '$deleteFromPrimitiveList of a value the list lacks changes nothing',
      original: { metadata: { finalizers: ['a', 'b'] } },
      patch: { metadata: { '$deleteFromPrimitiveList/finalizers': ['z'] } },
      want: { metadata: { finalizers: ['a', 'b'] } },
    },
    {
      name: '$deleteFromPrimitiveList does not create a list the object lacks',
      original: { metadata: { name: 'p' } },
      patch: { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } },
      want: { metadata: { name: 'p' } },
    },
    {
      name: '$deleteFromPrimitiveList also works on a list without the merge strategy (args)',
      original: pod({ containers: [{ name: 'c', args: ['-v', '--x', '-q'] }] }),
      patch: pod({ containers: [{ name: 'c', '$deleteFromPrimitiveList/args': ['--x'] }] }),
      want: pod({ containers: [{ name: 'c', args: ['-v', '-q'] }] }),
    },
    {
      name: 'with a deletion list, the patch may add values to the same list',
      original: { metadata: { finalizers: ['a', 'b'] } },
      patch: { metadata: { finalizers: ['c'], '$deleteFromPrimitiveList/finalizers': ['a'] } },
      want: { metadata: { finalizers: ['c', 'b'] } },
    },
    {
      name: '$setElementOrder/finalizers reorders a list of scalars',
      original: { metadata: { finalizers: ['a', 'b', 'c'] } },
      patch: { metadata: { '$setElementOrder/finalizers': ['b', 'c', 'a'] } },
      want: { metadata: { finalizers: ['b', 'c', 'a'] } },
    },
    {
      name: '$setElementOrder/containers reorders by merge key, keeping every field',
      original: pod({
        containers: [
          { name: 'a', image: 'a' },
          { name: 'b', image: 'b' },
          { name: 'c', image: 'c' },
        ],
      }),
      patch: pod({ '$setElementOrder/containers': [{ name: 'b' }, { name: 'c' }, { name: 'a' }] }),
      want: podWith('b', 'c', 'a'),
    },
    {
      name: '$setElementOrder places an added item where it names it',
      original: pod({
        containers: [
          { name: '1', image: 'x' },
          { name: '2', image: 'y' },
        ],
      }),
      patch: pod({
        '$setElementOrder/containers': [{ name: '3' }, { name: '1' }, { name: '2' }],
        containers: [{ name: '3', image: 'z' }],
      }),
      want: pod({
        containers: [
          { name: '3', image: 'z' },
          { name: '1', image: 'x' },
          { name: '2', image: 'y' },
        ],
      }),
    },
    {
      name: '$setElementOrder naming an item the list lacks orders only those it has',
      original: podWith('1', '3'),
      patch: pod({
        '$setElementOrder/containers': [{ name: '3' }, { name: '2' }, { name: '1' }],
        containers: [
          { name: '3', image: 'three' },
          { name: '1', image: 'one' },
        ],
      }),
      want: pod({
        containers: [
          { name: '3', image: 'three' },
          { name: '1', image: 'one' },
        ],
      }),
    },
    {
      name: 'server-only items stay after the listed items they followed (1)',
      original: podWith('1', '3', '4', '2', '9'),
      patch: pod({
        '$setElementOrder/containers': [{ name: '4' }, { name: '2' }, { name: '3' }, { name: '1' }],
      }),
      want: podWith('4', '2', '3', '1', '9'),
    },
    {
      name: 'server-only items stay after the listed items they followed (2)',
      original: podWith('1', '2', '9', '3', '4'),
      patch: pod({
        '$setElementOrder/containers': [{ name: '2' }, { name: '1' }, { name: '4' }, { name: '3' }],
      }),
      want: podWith('2', '1', '9', '4', '3'),
    },
    {
      name: 'server-only items stay after the listed items they followed (3)',
      original: podWith('1', '2', '7', '9', '8', '3', '4'),
      patch: pod({
        '$setElementOrder/containers': [{ name: '2' }, { name: '1' }, { name: '4' }, { name: '3' }],
      }),
      want: podWith('2', '1', '7', '9', '8', '4', '3'),
    },
    {
      name: 'a scalar list with server-only values keeps them in place',
      original: { metadata: { finalizers: ['1', '2', '7', '9', '8', '3', '4'] } },
      patch: { metadata: { '$setElementOrder/finalizers': ['2', '1', '4', '3'] } },
      want: { metadata: { finalizers: ['2', '1', '7', '9', '8', '4', '3'] } },
    },
    {
      name: "kubectl apply's patch: delete one item and reorder another list in one go",
      original: pod({
        containers: [
          { name: 'a', image: 'a' },
          { name: 'b', image: 'b' },
        ],
        volumes: [
          { name: 'c', emptyDir: {} },
          { name: 'd', emptyDir: {} },
        ],
      }),
      patch: pod({
        '$setElementOrder/containers': [{ name: 'b' }],
        '$setElementOrder/volumes': [{ name: 'd' }, { name: 'c' }],
        containers: [{ $patch: 'delete', name: 'a' }],
      }),
      want: pod({
        containers: [{ name: 'b', image: 'b' }],
        volumes: [
          { name: 'd', emptyDir: {} },
          { name: 'c', emptyDir: {} },
        ],
      }),
    },
    {
      name: 'adding one item and deleting another places a server-only item as apimachinery does',
      original: pod({ containers: [{ name: '1' }, { name: '2', image: 'b' }, { name: '4', image: 'c' }] }),
      patch: pod({
        '$setElementOrder/containers': [{ name: '2' }, { name: '3' }],
        containers: [{ name: '3' }, { name: '1', $patch: 'delete' }],
      }),
      want: pod({ containers: [{ name: '2', image: 'b' }, { name: '4', image: 'c' }, { name: '3' }] }),
    },
    {
      name: 'an added scalar goes where $setElementOrder names it; a value only the server has stays',
      original: { metadata: { finalizers: ['1', '4', '2'] } },
      patch: { metadata: { '$setElementOrder/finalizers': ['3', '1', '2'], finalizers: ['3'] } },
      want: { metadata: { finalizers: ['3', '1', '4', '2'] } },
    },
    {
      name: 'a scalar deleted while the others are reordered',
      original: { metadata: { finalizers: ['1', '2', '3'] } },
      patch: {
        metadata: { '$setElementOrder/finalizers': ['2', '1'], '$deleteFromPrimitiveList/finalizers': ['3'] },
      },
      want: { metadata: { finalizers: ['2', '1'] } },
    },
    {
      name: 'items with the same key stay together in $setElementOrder',
      original: pod({
        containers: [
          { name: '1' },
          { name: '2', image: 'dup1' },
          { name: '3' },
          { name: '2', image: 'dup2' },
        ],
      }),
      patch: pod({
        '$setElementOrder/containers': [{ name: '2' }, { name: '1' }, { name: '3' }, { name: '2' }],
      }),
      want: pod({
        containers: [
          { name: '2', image: 'dup1' },
          { name: '2', image: 'dup2' },
          { name: '1' },
          { name: '3' },
        ],
      }),
    },
  ])
})

/** Lists merged by their patch strategy, after apimachinery's strategicpatch tests. */
describe('merging lists', () => {
  run([
    {
      name: 'an item the patch names changes in place; the others stay',
      original: podWith('a', 'b'),
      patch: pod({ containers: [{ name: 'b', image: 'b:2', imagePullPolicy: 'Always' }] }),
      want: pod({
        containers: [
          { name: 'a', image: 'a' },
          { name: 'b', image: 'b:2', imagePullPolicy: 'Always' },
        ],
      }),
    },
    {
      name: 'null deletes a field of a merged item',
      original: pod({ containers: [{ name: 'a', image: 'a', workingDir: '/w' }] }),
      patch: pod({ containers: [{ name: 'a', workingDir: null }] }),
      want: pod({ containers: [{ name: 'a', image: 'a' }] }),
    },
    {
      name: 'the patch order wins: items come as the patch lists them',
      original: pod({ containers: [{ name: '1' }, { name: '2', image: 'b' }, { name: '3' }] }),
      patch: pod({
        containers: [
          { name: '3', image: 'c' },
          { name: '1', image: 'a' },
          { name: '2', workingDir: 'x' },
        ],
      }),
      want: pod({
        containers: [
          { name: '3', image: 'c' },
          { name: '1', image: 'a' },
          { name: '2', image: 'b', workingDir: 'x' },
        ],
      }),
    },
    {
      name: 'items the patch leaves out keep their place before the ones they preceded',
      original: pod({ containers: [{ name: '1' }, { name: '2', image: 'b' }, { name: '3' }] }),
      patch: pod({
        containers: [
          { name: '3', image: 'c' },
          { name: '1', image: 'a' },
        ],
      }),
      want: pod({
        containers: [
          { name: '2', image: 'b' },
          { name: '3', image: 'c' },
          { name: '1', image: 'a' },
        ],
      }),
    },
    {
      name: 'scalars of a merged list (finalizers) form a union without duplicates',
      original: { metadata: { finalizers: ['1', '2'] } },
      patch: { metadata: { finalizers: ['2', '3'] } },
      want: { metadata: { finalizers: ['1', '2', '3'] } },
    },
    {
      name: 'a new scalar comes first, like a new item',
      original: { metadata: { finalizers: ['a', 'b'] } },
      patch: { metadata: { finalizers: ['c'] } },
      want: { metadata: { finalizers: ['c', 'a', 'b'] } },
    },
    {
      name: 'scalars follow the patch order too',
      original: { metadata: { finalizers: ['1', '2', '3'] } },
      patch: { metadata: { finalizers: ['3', '1'] } },
      want: { metadata: { finalizers: ['2', '3', '1'] } },
    },
    {
      name: 'empty lists merge into an empty list',
      original: pod({ containers: [] }),
      patch: pod({ containers: [] }),
      want: pod({ containers: [] }),
    },
    {
      name: 'lists nested in merged items merge by their own key (ports by containerPort)',
      original: pod({ containers: [{ name: 'a', ports: [{ containerPort: 80 }, { containerPort: 443 }] }] }),
      patch: pod({ containers: [{ name: 'a', ports: [{ containerPort: 443, name: 'https' }] }] }),
      want: pod({
        containers: [{ name: 'a', ports: [{ containerPort: 80 }, { containerPort: 443, name: 'https' }] }],
      }),
    },
    {
      name: 'a list without a patch strategy (args) nested in a merged item is replaced',
      original: pod({ containers: [{ name: 'a', args: ['x', 'y'] }] }),
      patch: pod({ containers: [{ name: 'a', args: ['z'] }] }),
      want: pod({ containers: [{ name: 'a', args: ['z'] }] }),
    },
    {
      name: 'env merges by name inside a container',
      original: pod({ containers: [{ name: 'a', env: [{ name: 'X', value: '1' }] }] }),
      patch: pod({ containers: [{ name: 'a', env: [{ name: 'Y', value: '2' }] }] }),
      want: pod({
        containers: [
          {
            name: 'a',
            env: [
              { name: 'Y', value: '2' },
              { name: 'X', value: '1' },
            ],
          },
        ],
      }),
    },
    {
      name: 'Service ports merge by port alone, their patch merge key, whatever the protocol',
      schema: serviceSchema,
      original: { spec: { ports: [{ port: 53, protocol: 'TCP', name: 'dns-tcp' }] } },
      patch: { spec: { ports: [{ port: 53, protocol: 'UDP', name: 'dns' }] } },
      want: { spec: { ports: [{ port: 53, protocol: 'UDP', name: 'dns' }] } },
    },
    {
      name: 'volumes (merge,retainKeys) switch their source with $retainKeys in the item',
      original: pod({
        volumes: [
          { name: 'data', emptyDir: {} },
          { name: 'other', emptyDir: {} },
        ],
      }),
      patch: pod({
        volumes: [{ name: 'data', $retainKeys: ['configMap', 'name'], configMap: { name: 'cfg' } }],
      }),
      want: pod({
        volumes: [
          { name: 'data', configMap: { name: 'cfg' } },
          { name: 'other', emptyDir: {} },
        ],
      }),
    },
    {
      name: 'an added item comes without its nulls and directives',
      original: podWith('a'),
      patch: pod({
        containers: [
          { name: 'b', image: 'b', workingDir: null, env: [{ name: 'X', value: null }], args: ['-v', null] },
        ],
      }),
      want: pod({
        containers: [
          { name: 'b', image: 'b', env: [{ name: 'X' }], args: ['-v', null] },
          { name: 'a', image: 'a' },
        ],
      }),
    },
    {
      name: 'an added map comes without its nulls',
      original: { metadata: { name: 'p' } },
      patch: { metadata: { labels: { a: '1', b: null } } },
      want: { metadata: { name: 'p', labels: { a: '1' } } },
    },
    {
      name: 'a value of another type replaces the original',
      original: { metadata: { labels: 'not-a-map' } },
      patch: { metadata: { labels: { a: '1' } } },
      want: { metadata: { labels: { a: '1' } } },
    },
    {
      name: 'null values already in the original are kept',
      original: { metadata: { name: 'p', annotations: null } },
      patch: { metadata: { labels: { a: '1' } } },
      want: { metadata: { name: 'p', annotations: null, labels: { a: '1' } } },
    },
    {
      name: 'without a schema every list is replaced, as in a JSON merge patch',
      schema: undefined,
      original: { items: [{ name: 'a' }], finalizers: ['x'] },
      patch: { items: [{ name: 'b' }], finalizers: ['y'] },
      want: { items: [{ name: 'b' }], finalizers: ['y'] },
    },
  ])

  test('a patch without a schema still honours directives', () => {
    assert.deepEqual(
      applyStrategicMergePatch({ a: { b: 1, c: 2 } }, { a: { $patch: 'replace', d: 3 } }, undefined),
      { a: { d: 3 } },
    )
  })
})

describe('bad patches are clear errors', () => {
  const errors: {
    name: string
    original?: unknown
    patch: unknown
    kind: 'decode' | 'apply'
    message: string | RegExp
  }[] = [
    {
      name: 'a patch that is a list',
      patch: [{ op: 'add' }],
      kind: 'decode',
      message: 'json: cannot unmarshal array into Go value of type map[string]interface {}',
    },
    {
      name: 'a patch that is a string',
      patch: 'spec',
      kind: 'decode',
      message: 'json: cannot unmarshal string into Go value of type map[string]interface {}',
    },
    {
      name: 'an unknown $patch in a map',
      patch: { spec: { $patch: 'frobnicate' } },
      kind: 'apply',
      message: 'unknown patch type: frobnicate in map: {"$patch":"frobnicate"}',
    },
    {
      name: '$patch: merge in a map (only replace and delete are directives there)',
      patch: { spec: { $patch: 'merge' } },
      kind: 'apply',
      message: /^unknown patch type: merge in map/,
    },
    {
      name: 'an unknown $patch in a list item',
      original: podWith('a'),
      patch: pod({ containers: [{ name: 'a', $patch: 'frobnicate' }] }),
      kind: 'apply',
      message: 'unknown patch type: frobnicate in map: {"name":"a","$patch":"frobnicate"}',
    },
    {
      name: '$patch: merge in a list item',
      original: podWith('a'),
      patch: pod({ containers: [{ $patch: 'merge' }] }),
      kind: 'apply',
      message: 'merging lists cannot yet be specified in the patch',
    },
    {
      name: 'an item of a merged list without its merge key',
      original: podWith('a'),
      patch: pod({ containers: [{ image: 'b' }] }),
      kind: 'apply',
      message: 'map: {"image":"b"} does not contain declared merge key: name',
    },
    {
      name: '$patch: delete without the merge key',
      original: podWith('a'),
      patch: pod({ containers: [{ $patch: 'delete' }] }),
      kind: 'apply',
      message: 'map: {"$patch":"delete"} does not contain declared merge key: name',
    },
    {
      name: 'a $setElementOrder that contradicts the order of the patch',
      original: podWith('1', '3', '2'),
      patch: pod({
        '$setElementOrder/containers': [{ name: '1' }, { name: '2' }, { name: '3' }],
        containers: [
          { name: '3', image: 'x' },
          { name: '1', image: 'y' },
        ],
      }),
      kind: 'apply',
      message: /doesn't match \$setElementOrder list/,
    },
    {
      name: 'a $setElementOrder of scalars that contradicts the patch',
      original: { metadata: { finalizers: ['1', '3', '2'] } },
      patch: { metadata: { '$setElementOrder/finalizers': ['1', '2', '3'], finalizers: ['3', '1'] } },
      kind: 'apply',
      message: /doesn't match \$setElementOrder list/,
    },
    {
      name: '$setElementOrder that is not a list',
      original: podWith('a'),
      patch: pod({ '$setElementOrder/containers': 'a' }),
      kind: 'decode',
      message: 'invalid patch format of setElementOrder list: $setElementOrder/containers must be a list',
    },
    {
      name: 'a deletion list directive without its slash',
      original: { metadata: { finalizers: ['a'] } },
      patch: { metadata: { $deleteFromPrimitiveListfinalizers: ['a'] } },
      kind: 'decode',
      message:
        'invalid patch format of primitive list: "$deleteFromPrimitiveListfinalizers" is not of the form $deleteFromPrimitiveList/<field>',
    },
    {
      name: '$retainKeys that is not a list',
      patch: { spec: { $retainKeys: 'containers' } },
      kind: 'decode',
      message: 'invalid patch format of retainKeys: $retainKeys must be a list of field names',
    },
    {
      name: 'a merged list mixing maps and scalars',
      original: podWith('a'),
      patch: pod({ containers: ['b'] }),
      kind: 'apply',
      message: /^list element types are not identical/,
    },
    {
      name: 'a merged list of lists',
      original: { metadata: { finalizers: [] } },
      patch: { metadata: { finalizers: [['a']] } },
      kind: 'apply',
      message: 'lists of lists are not supported',
    },
  ]
  for (const c of errors) {
    test(c.name, () => {
      assert.throws(
        () => applyStrategicMergePatch(c.original ?? podWith('a'), c.patch, podSchema),
        (err: unknown) => {
          assert.ok(err instanceof PatchError, String(err))
          assert.equal(err.kind, c.kind)
          if (typeof c.message === 'string') assert.equal(err.message, c.message)
          else assert.match(err.message, c.message)
          return true
        },
      )
    })
  }

  test('a __proto__ key is an ordinary key, not a prototype', () => {
    const patch = JSON.parse('{"data":{"__proto__":{"x":"1"}}}') as unknown
    const out = applyStrategicMergePatch({ data: { k: 'v' } }, patch, undefined) as { data: object }
    assert.equal(JSON.stringify(out), '{"data":{"k":"v","__proto__":{"x":"1"}}}')
    assert.equal(Object.getPrototypeOf(out.data), Object.prototype)
  })

  test('a null patch changes nothing, as Go decodes it into an empty map', () => {
    assert.deepEqual(applyStrategicMergePatch(podWith('a'), null, podSchema), podWith('a'))
  })

  test('a patch on a document that is not an object starts from an empty one', () => {
    assert.deepEqual(applyStrategicMergePatch(null, { metadata: { name: 'x' } }, podSchema), {
      metadata: { name: 'x' },
    })
  })
})
