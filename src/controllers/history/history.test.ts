import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ControllerRevision } from '../../api/generated/types/apps-v1.ts'
import { labelSelectorFromObject } from '../../api/selectors/label-selector.ts'
import { ApiStatusError, IndexedCache, Lister, type ObjectLike } from '../../client/index.ts'
import {
  ControllerHistory,
  controllerRevisionHash,
  controllerRevisionHashLabel,
  equalRevision,
  findEqualRevisions,
  newControllerRevision,
  nextRevision,
  sortRevisions,
  type RevisionClient,
} from './history.ts'

const parent = { metadata: { name: 'web', namespace: 'default', uid: 'sts-uid' } }
const kind = { apiVersion: 'apps/v1', kind: 'StatefulSet' }
const data = (image: string) => ({
  spec: { template: { $patch: 'replace', spec: { containers: [{ name: 'c', image }] } } },
})

function revision(name: string, n: number, o: { created?: string; image?: string; owner?: string } = {}) {
  const r = newControllerRevision({
    parent,
    parentKind: kind,
    labels: { app: 'web' },
    data: data(o.image ?? 'v1'),
    revision: n,
  })
  r.metadata = {
    ...r.metadata,
    name,
    creationTimestamp: o.created ?? '2026-01-01T00:00:00Z',
    ...(o.owner === '' ? { ownerReferences: [] } : {}),
  }
  if (o.owner && r.metadata.ownerReferences?.[0]) r.metadata.ownerReferences[0].uid = o.owner
  return r
}

function apiError(code: number, reason: string): ApiStatusError {
  return new ApiStatusError({ code, reason, message: reason }, code)
}

/** Keeps revisions by name, as the apiserver would; `patches` records strategic merge patches. */
class FakeRevisions implements RevisionClient {
  readonly items = new Map<string, ControllerRevision>()
  readonly patches: { name: string; patch: unknown }[] = []
  async create(r: ControllerRevision): Promise<ControllerRevision> {
    const name = r.metadata?.name ?? ''
    if (this.items.has(name)) throw apiError(409, 'AlreadyExists')
    const stored = { ...r, metadata: { ...r.metadata, uid: `${name}-uid`, resourceVersion: '1' } }
    this.items.set(name, stored)
    return stored
  }
  async get(_ns: string, name: string): Promise<ControllerRevision> {
    const r = this.items.get(name)
    if (!r) throw apiError(404, 'NotFound')
    return r
  }
  async update(r: ControllerRevision): Promise<ControllerRevision> {
    this.items.set(r.metadata?.name ?? '', r)
    return r
  }
  async delete(_ns: string, name: string): Promise<ControllerRevision> {
    const r = this.items.get(name)
    if (!r) throw apiError(404, 'NotFound')
    this.items.delete(name)
    return r
  }
  async patch(_ns: string, name: string, _type: string, patch: unknown): Promise<ControllerRevision> {
    const r = this.items.get(name)
    if (!r) throw apiError(404, 'NotFound')
    this.patches.push({ name, patch })
    return r
  }
}

function history(revisions: ControllerRevision[] = []) {
  const client = new FakeRevisions()
  const cache = IndexedCache.of<ControllerRevision>(revisions)
  return { client, history: new ControllerHistory({ client, lister: new Lister(cache) }) }
}

test('the hash is stable for the same data whatever the key order, and spelled in the safe alphabet', () => {
  const a = controllerRevisionHash({ x: 1, y: { b: 2, a: [1, 2] } })
  const b = controllerRevisionHash({ y: { a: [1, 2], b: 2 }, x: 1 })
  assert.equal(a, b)
  assert.match(a, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/)
  assert.notEqual(controllerRevisionHash(data('v1')), controllerRevisionHash(data('v2')))
})

test('the collision count changes the hash, and a count of 0 differs from none', () => {
  const hashes = new Set([
    controllerRevisionHash(data('v1')),
    controllerRevisionHash(data('v1'), 0),
    controllerRevisionHash(data('v1'), 1),
    controllerRevisionHash(data('v1'), 2),
  ])
  assert.equal(hashes.size, 4)
})

test('a new revision is named after its parent and hash, labelled with the hash, and controlled by the parent', () => {
  const r = newControllerRevision({
    parent,
    parentKind: kind,
    labels: { app: 'web' },
    data: data('v1'),
    revision: 3,
    collisionCount: 0,
  })
  const hash = controllerRevisionHash(data('v1'), 0)
  assert.equal(r.metadata?.name, `web-${hash}`)
  assert.equal(r.metadata?.namespace, 'default')
  assert.deepEqual(r.metadata?.labels, { app: 'web', [controllerRevisionHashLabel]: hash })
  assert.deepEqual(r.metadata?.ownerReferences, [
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      name: 'web',
      uid: 'sts-uid',
      controller: true,
      blockOwnerDeletion: true,
    },
  ])
  assert.equal(r.revision, 3)
  assert.deepEqual(r.data, data('v1'))
})

test('a long parent name is cut so that the revision name stays valid', () => {
  const long = { metadata: { ...parent.metadata, name: 'a'.repeat(250) } }
  const r = newControllerRevision({ parent: long, parentKind: kind, labels: {}, data: {}, revision: 1 })
  assert.ok((r.metadata?.name ?? '').length <= 253)
  assert.ok(r.metadata?.name?.startsWith(`${'a'.repeat(223)}-`))
})

test('the next revision is one past the highest, and 1 for none', () => {
  assert.equal(nextRevision([]), 1)
  assert.equal(nextRevision([revision('a', 4), revision('b', 2)]), 5)
})

test('revisions sort by number, then creation time, then name', () => {
  const sorted = sortRevisions([
    revision('c', 2),
    revision('b', 1, { created: '2026-01-02T00:00:00Z' }),
    revision('z', 1, { created: '2026-01-01T00:00:00Z' }),
    revision('a', 2),
  ])
  assert.deepEqual(
    sorted.map((r) => r.metadata?.name),
    ['z', 'b', 'a', 'c'],
  )
})

test('revisions are equal when their data is, and differ when their hash labels do', () => {
  const cases = [
    { name: 'same data', a: revision('a', 1), b: revision('b', 2), want: true },
    { name: 'other image', a: revision('a', 1), b: revision('b', 2, { image: 'v2' }), want: false },
    { name: 'missing', a: revision('a', 1), b: undefined, want: false },
  ]
  for (const c of cases) assert.equal(equalRevision(c.a, c.b), c.want, c.name)
  const relabelled = revision('b', 2)
  relabelled.metadata = { ...relabelled.metadata, labels: { [controllerRevisionHashLabel]: 'other' } }
  assert.equal(equalRevision(revision('a', 1), relabelled), false)
  assert.deepEqual(
    findEqualRevisions(
      [revision('a', 1), revision('b', 2, { image: 'v2' }), revision('c', 3)],
      revision('n', 9),
    ).map((r) => r.metadata?.name),
    ['a', 'c'],
  )
})

test('create stores the revision under the name its data and collision count give', async () => {
  const { client, history: h } = history()
  const r = newControllerRevision({ parent, parentKind: kind, labels: {}, data: data('v1'), revision: 1 })
  const got = await h.create(parent, r, 0)
  assert.equal(got.collisionCount, 0)
  assert.equal(got.revision.metadata?.name, `web-${controllerRevisionHash(data('v1'), 0)}`)
  assert.equal(client.items.size, 1)
})

test('create answers with the stored revision when the name is taken by the same data', async () => {
  const { client, history: h } = history()
  const r = newControllerRevision({ parent, parentKind: kind, labels: {}, data: data('v1'), revision: 1 })
  const first = await h.create(parent, r, 0)
  const again = await h.create(parent, { ...r, revision: 2 }, 0)
  assert.equal(again.collisionCount, 0)
  assert.equal(again.revision.revision, first.revision.revision)
  assert.equal(client.items.size, 1)
})

test('create bumps the collision count when the name is taken by other data', async () => {
  const { client, history: h } = history()
  const squatter = newControllerRevision({
    parent,
    parentKind: kind,
    labels: {},
    data: data('other'),
    revision: 1,
  })
  squatter.metadata = { ...squatter.metadata, name: `web-${controllerRevisionHash(data('v1'), 0)}` }
  client.items.set(squatter.metadata.name ?? '', squatter)
  const r = newControllerRevision({ parent, parentKind: kind, labels: {}, data: data('v1'), revision: 2 })
  const got = await h.create(parent, r, 0)
  assert.equal(got.collisionCount, 1)
  const hash = controllerRevisionHash(data('v1'), 1)
  assert.equal(got.revision.metadata?.name, `web-${hash}`)
  assert.equal(got.revision.metadata?.labels?.[controllerRevisionHashLabel], hash)
  assert.equal(client.items.size, 2)
})

test('updateRevision renumbers a revision, and delete tolerates one already gone', async () => {
  const { client, history: h } = history()
  const { revision: stored } = await h.create(parent, revision('x', 1), 0)
  const renumbered = await h.updateRevision(stored, 7)
  assert.equal(renumbered.revision, 7)
  assert.equal(client.items.get(stored.metadata?.name ?? '')?.revision, 7)
  await h.delete(stored)
  await h.delete(stored)
  assert.equal(client.items.size, 0)
})

test('listRevisions finds the parent’s and orphan revisions its selector matches, not other owners’', () => {
  const other = revision('other', 1, { owner: 'someone-else' })
  const orphan = revision('orphan', 2, { owner: '' })
  const mine = revision('mine', 3)
  const unlabelled = revision('unlabelled', 4)
  unlabelled.metadata = { ...unlabelled.metadata, labels: { app: 'db' } }
  const { history: h } = history([other, orphan, mine, unlabelled])
  const selector = labelSelectorFromObject({ matchLabels: { app: 'web' } })
  assert.deepEqual(
    sortRevisions(h.listRevisions(parent, selector)).map((r) => r.metadata?.name),
    ['orphan', 'mine'],
  )
  assert.deepEqual(
    sortRevisions(h.ownedRevisions(parent)).map((r) => r.metadata?.name),
    ['mine', 'unlabelled'],
  )
})

test('adopt and release patch the controller reference, and report a revision gone', async () => {
  const { client, history: h } = history()
  const { revision: stored } = await h.create(parent, revision('x', 1, { owner: '' }), 0)
  assert.equal(await h.adopt(parent as ObjectLike, kind, stored), true)
  assert.deepEqual(client.patches[0]?.patch, {
    metadata: {
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          name: 'web',
          uid: 'sts-uid',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      uid: stored.metadata?.uid,
    },
  })
  assert.equal(await h.release(parent, stored), true)
  await h.delete(stored)
  assert.equal(await h.adopt(parent, kind, stored), false)
})

test('updateRevision reads a revision afresh when its copy was stale', async () => {
  const { client, history: h } = history()
  const { revision: stored } = await h.create(parent, revision('x', 1), 0)
  let conflicts = 1
  const update = client.update.bind(client)
  client.update = async (r) => {
    if (conflicts-- > 0) throw apiError(409, 'Conflict')
    return update(r)
  }
  const renumbered = await h.updateRevision(stored, 5)
  assert.equal(renumbered.revision, 5)
  assert.equal(client.items.get(stored.metadata?.name ?? '')?.revision, 5)
})
