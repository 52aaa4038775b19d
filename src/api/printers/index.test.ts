import assert from 'node:assert/strict'
import { test } from 'node:test'
import { resources } from '../generated/resources.ts'
import { printerFor } from './index.ts'
import { now } from './testing.ts'

/**
 * The served resources kube-apiserver has no printer for: they get the default Name / Created At
 * table. Every other served resource must have one, so a resource added to the table without a
 * printer, or a printer for a resource that has none upstream, fails here.
 */
const withoutPrinter = new Set([
  '/bindings',
  '/limitranges',
  'rbac.authorization.k8s.io/roles',
  'rbac.authorization.k8s.io/clusterroles',
  'apiextensions.k8s.io/customresourcedefinitions',
  'authentication.k8s.io/selfsubjectreviews',
  'authentication.k8s.io/tokenreviews',
  'authorization.k8s.io/localsubjectaccessreviews',
  'authorization.k8s.io/selfsubjectaccessreviews',
  'authorization.k8s.io/selfsubjectrulesreviews',
  'authorization.k8s.io/subjectaccessreviews',
])

const served = [...new Set(resources.map((r) => `${r.group}/${r.resource}`))]

test('every served resource with a printer upstream has one here, and no other', () => {
  for (const key of served) {
    const [group = '', resource = ''] = key.split('/')
    const p = printerFor(group, resource)
    if (withoutPrinter.has(key)) assert.equal(p, undefined, `${key} has no printer upstream`)
    else assert.ok(p, `a printer for ${key}`)
  }
  for (const key of withoutPrinter) assert.ok(served.includes(key), `${key} is served`)
  assert.equal(printerFor('', 'no-such-things'), undefined)
})

test('every printer: a Name column, unique titles, and a row of the right length for any object', () => {
  for (const key of served) {
    const [group = '', resource = ''] = key.split('/')
    const p = printerFor(group, resource)
    if (!p) continue
    const names = p.columns.map((c) => c.name)
    assert.equal(new Set(names).size, names.length, `${key}: unique titles`)
    const nameColumn = p.columns.find((c) => c.name === 'Name')
    assert.ok(nameColumn, `${key}: a Name column`)
    if (resource !== 'events') assert.equal(p.columns[0], nameColumn, `${key}: Name first`)
    for (const c of p.columns) {
      assert.ok(c.description.length > 0, `${key}/${c.name}: a description`)
      assert.ok(c.priority === 0 || c.priority === 1, `${key}/${c.name}: priority`)
    }
    for (const o of [
      {},
      { metadata: { name: 'x' } },
      { metadata: { name: 'x' }, spec: null, status: null },
    ]) {
      const cells = p.row(o, now)
      assert.equal(cells.length, p.columns.length, `${key}: one cell per column`)
      assert.equal(cells[names.indexOf('Name')], o.metadata?.name ?? '', `${key}: the name`)
      for (const cell of cells)
        assert.ok(['string', 'number', 'boolean'].includes(typeof cell), `${key}: scalar cells`)
    }
  }
})
