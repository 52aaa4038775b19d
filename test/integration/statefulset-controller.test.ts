import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { StatefulSet } from '../../src/api/generated/types/apps-v1.ts'
import type { PersistentVolumeClaim, Pod } from '../../src/api/generated/types/core-v1.ts'
import { builtin, Informer, ResourceClient } from '../../src/client/index.ts'
import { kubectlMissing, type TestApiServer } from '../support/cluster.ts'
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.ts'
import { until } from '../support/until.ts'

const statefulSet = (image: string): StatefulSet => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    replicas: 3,
    serviceName: 'nginx',
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'nginx', image }] },
    },
    volumeClaimTemplates: [
      {
        metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    ],
  },
})

describe('the statefulset controller, with kubectl', { skip: kubectlMissing ?? false }, () => {
  let cp: TestControlPlane
  let c: TestApiServer
  let sets: ResourceClient<StatefulSet>
  let pods: ResourceClient<Pod>
  let claims: ResourceClient<PersistentVolumeClaim>
  /** Pod names in the order the watch saw them appear and go. */
  const added: string[] = []
  const deleted: string[] = []
  const ac = new AbortController()
  let podWatch: Promise<void> | undefined

  const imageOf = (p: Pod) => p.spec?.containers[0]?.image
  const podsByName = async () =>
    new Map(
      (await pods.list('default', { labelSelector: 'app=web' })).items.map((p) => [p.metadata?.name, p]),
    )

  /** The set is settled at `replicas` ready pods, its status up to date with its generation. */
  const settled = (replicas: number, check: (s: StatefulSet) => boolean = () => true, name = 'web') =>
    until(
      async () => {
        const s = await sets.get('default', name)
        const st = s.status
        if (!st) return undefined
        const ok =
          st.observedGeneration === s.metadata?.generation &&
          st.replicas === replicas &&
          st.readyReplicas === replicas &&
          st.availableReplicas === replicas &&
          check(s)
        return ok ? s : undefined
      },
      30_000,
      `${name} to settle at ${replicas} ready pods`,
    )

  before(async () => {
    cp = await startTestControlPlane({ identity: 'test' })
    c = cp.api
    sets = cp.client('apps', 'v1', 'statefulsets')
    pods = cp.client('', 'v1', 'pods')
    claims = cp.client('', 'v1', 'persistentvolumeclaims')
    const informer = new Informer(new ResourceClient<Pod>(cp.rest, builtin('', 'v1', 'pods')), {
      labelSelector: 'app=web',
    })
    informer.addHandler({
      add: (p) => added.push(p.metadata?.name ?? ''),
      delete: (p) => deleted.push(p.metadata?.name ?? ''),
    })
    podWatch = informer.run(ac.signal)
    await informer.waitForSync()
  })
  after(async () => {
    ac.abort()
    await podWatch
    await cp.stop()
  })

  test('a StatefulSet of 3 makes web-0, web-1, web-2 in order, each with its identity and claim', async () => {
    await sets.create(statefulSet('nginx:1.26'))
    const s = await settled(3, (x) => x.status?.currentRevision === x.status?.updateRevision)
    assert.deepEqual(added, ['web-0', 'web-1', 'web-2'])
    const byName = await podsByName()
    for (const i of [0, 1, 2]) {
      const p = byName.get(`web-${i}`)
      assert.ok(p, `web-${i}`)
      assert.equal(p.spec?.hostname, `web-${i}`)
      assert.equal(p.spec?.subdomain, 'nginx')
      assert.equal(p.metadata?.labels?.['statefulset.kubernetes.io/pod-name'], `web-${i}`)
      assert.equal(p.metadata?.labels?.['apps.kubernetes.io/pod-index'], String(i))
      assert.equal(p.metadata?.labels?.['controller-revision-hash'], s.status?.updateRevision)
      assert.deepEqual(p.spec?.volumes?.[0], {
        name: 'data',
        persistentVolumeClaim: { claimName: `data-web-${i}` },
      })
    }
    const names = (await claims.list('default')).items.map((x) => x.metadata?.name).sort()
    assert.deepEqual(names, ['data-web-0', 'data-web-1', 'data-web-2'])
    const get = await c.kubectl(['get', 'statefulset', 'web'])
    assert.equal(get.code, 0, get.stderr)
    assert.match(get.stdout, /^NAME\s+READY\s+AGE\n/)
    assert.match(get.stdout, /\nweb\s+3\/3\s+\d+s\n/)
    const wide = await c.kubectl(['get', 'statefulset', 'web', '-o', 'wide', '--no-headers'])
    assert.match(wide.stdout, /^web\s+3\/3\s+\S+\s+nginx\s+nginx:1\.26\n$/)
    const describe = await until(
      async () => {
        const r = await c.kubectl(['describe', 'statefulset', 'web'])
        return r.stdout.includes('create Pod web-2 in StatefulSet web successful') ? r : undefined
      },
      10_000,
      'the events of web to show in kubectl describe',
    )
    assert.equal(describe.code, 0, describe.stderr)
    assert.match(describe.stdout, /Pods Status:\s+3 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed/)
    assert.match(describe.stdout, /Update Strategy:\s+RollingUpdate/)
    assert.match(
      describe.stdout,
      /Normal\s+SuccessfulCreate\s+\S+\s+statefulset-controller\s+create Claim data-web-0 Pod web-0 in StatefulSet web success/,
    )
  })

  test('scaled down to 1, it deletes web-2 then web-1 and keeps their claims', async () => {
    deleted.length = 0
    const scaled = await c.kubectl(['scale', 'statefulset/web', '--replicas=1'])
    assert.equal(scaled.code, 0, scaled.stderr)
    await settled(1)
    assert.deepEqual(deleted, ['web-2', 'web-1'])
    assert.deepEqual([...(await podsByName()).keys()], ['web-0'])
    const names = (await claims.list('default')).items.map((x) => x.metadata?.name).sort()
    assert.deepEqual(names, ['data-web-0', 'data-web-1', 'data-web-2'], 'the claims survive their pods')
  })

  test('a rollout with a partition updates only the ordinals at or above it, then all of them', async () => {
    const scaled = await c.kubectl(['scale', 'statefulset/web', '--replicas=3'])
    assert.equal(scaled.code, 0, scaled.stderr)
    const first = await settled(3)
    const oldRevision = first.status?.currentRevision
    const partitioned = await c.kubectl([
      'patch',
      'statefulset/web',
      '-p',
      '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":2}}}}',
    ])
    assert.equal(partitioned.code, 0, partitioned.stderr)
    const set = await c.kubectl(['set', 'image', 'statefulset/web', 'nginx=nginx:1.27'])
    assert.equal(set.code, 0, set.stderr)
    const s = await settled(3, (x) => x.status?.updatedReplicas === 1)
    assert.equal(s.status?.currentRevision, oldRevision)
    assert.notEqual(s.status?.updateRevision, oldRevision)
    assert.equal(s.status?.currentReplicas, 2)
    const partial = await c.kubectl(['rollout', 'status', 'statefulset/web', '--timeout=30s'])
    assert.equal(partial.code, 0, partial.stderr)
    assert.match(partial.stdout, /partitioned roll out complete: 1 new pods have been updated/)
    let byName = await podsByName()
    assert.deepEqual(
      [0, 1, 2].map((i) => imageOf(byName.get(`web-${i}`) as Pod)),
      ['nginx:1.26', 'nginx:1.26', 'nginx:1.27'],
    )

    const all = await c.kubectl([
      'patch',
      'statefulset/web',
      '-p',
      '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}',
    ])
    assert.equal(all.code, 0, all.stderr)
    const status = await c.kubectl(['rollout', 'status', 'statefulset/web', '--timeout=30s'])
    assert.equal(status.code, 0, status.stderr)
    const done = await settled(3, (x) => x.status?.currentRevision === x.status?.updateRevision)
    assert.equal(done.status?.updatedReplicas, 3)
    byName = await podsByName()
    assert.deepEqual(
      [0, 1, 2].map((i) => imageOf(byName.get(`web-${i}`) as Pod)),
      ['nginx:1.27', 'nginx:1.27', 'nginx:1.27'],
    )
  })

  test('kubectl rollout history lists the revisions and rollout undo goes back to the previous one', async () => {
    const history = await c.kubectl(['rollout', 'history', 'statefulset/web'])
    assert.equal(history.code, 0, history.stderr)
    assert.match(history.stdout, /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/)
    const undo = await c.kubectl(['rollout', 'undo', 'statefulset/web'])
    assert.equal(undo.code, 0, undo.stderr)
    const s = await settled(
      3,
      (x) =>
        x.status?.currentRevision === x.status?.updateRevision &&
        x.spec?.template.spec?.containers[0]?.image === 'nginx:1.26' &&
        x.status?.updatedReplicas === 3,
    )
    const byName = await podsByName()
    assert.deepEqual(
      [0, 1, 2].map((i) => imageOf(byName.get(`web-${i}`) as Pod)),
      ['nginx:1.26', 'nginx:1.26', 'nginx:1.26'],
    )
    const after = await c.kubectl(['rollout', 'history', 'statefulset/web'])
    assert.equal(after.code, 0, after.stderr)
    assert.match(after.stdout, /REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>/, 'revision 1 became 3')
    const revisions = await c.kubectl(['get', 'controllerrevisions', '--no-headers'])
    assert.equal(revisions.stdout.trim().split('\n').length, 2, revisions.stdout)
    assert.match(
      revisions.stdout,
      new RegExp(`${s.status?.updateRevision ?? '-'}\\s+statefulset.apps/web\\s+3\\s`),
    )
  })

  test('with persistentVolumeClaimRetentionPolicy Delete, claims go with their scaled-down pods and with the set', async () => {
    const db = statefulSet('postgres:17')
    db.metadata = { name: 'db', namespace: 'default' }
    db.spec = {
      ...(db.spec as NonNullable<StatefulSet['spec']>),
      replicas: 2,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { app: 'db' } },
      template: {
        metadata: { labels: { app: 'db' } },
        spec: { containers: [{ name: 'db', image: 'postgres:17' }] },
      },
      persistentVolumeClaimRetentionPolicy: { whenScaled: 'Delete', whenDeleted: 'Delete' },
    }
    await sets.create(db)
    await settled(2, () => true, 'db')
    const dbClaims = async () =>
      (await claims.list('default', { labelSelector: 'app=db' })).items.map((x) => x.metadata?.name).sort()
    assert.deepEqual(await dbClaims(), ['data-db-0', 'data-db-1'])
    const owners = (await claims.get('default', 'data-db-0')).metadata?.ownerReferences ?? []
    assert.deepEqual(
      owners.map((r) => [r.kind, r.name, r.controller]),
      [['StatefulSet', 'db', true]],
    )

    const scaled = await c.kubectl(['scale', 'statefulset/db', '--replicas=1'])
    assert.equal(scaled.code, 0, scaled.stderr)
    await settled(1, () => true, 'db')
    await until(async () => (await dbClaims()).length === 1, 20_000, 'data-db-1 to go with db-1')
    assert.deepEqual(await dbClaims(), ['data-db-0'])

    const del = await c.kubectl(['delete', 'statefulset/db', '--wait=false'])
    assert.equal(del.code, 0, del.stderr)
    await until(async () => (await dbClaims()).length === 0, 20_000, 'data-db-0 to go with the set')
    await until(
      async () => (await pods.list('default', { labelSelector: 'app=db' })).items.length === 0,
      20_000,
      'the pods to go with the set',
    )
  })
})
