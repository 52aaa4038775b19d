import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Deployment, ReplicaSet } from '../../src/api/generated/types/apps-v1.ts'
import type { Pod } from '../../src/api/generated/types/core-v1.ts'
import { builtin, Informer, ResourceClient, type RestClient } from '../../src/client/index.ts'
import { kubectlMissing, type TestApiServer } from '../support/cluster.ts'
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.ts'
import { until } from '../support/until.ts'

const deployment = (name: string, image: string): Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default' },
  spec: {
    replicas: 10,
    selector: { matchLabels: { app: name } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 2, maxUnavailable: 1 } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'web', image }] },
    },
  },
})

describe('the deployment controller, with kubectl rollout', { skip: kubectlMissing ?? false }, () => {
  let c: TestApiServer
  let rest: RestClient
  let cp: TestControlPlane
  let deployments: ResourceClient<Deployment>
  let replicaSets: ResourceClient<ReplicaSet>

  const settled = (name: string, image: string) =>
    until(
      async () => {
        const d = await deployments.get('default', name)
        const s = d.status
        const ok =
          s?.observedGeneration === d.metadata?.generation &&
          s?.updatedReplicas === 10 &&
          s.replicas === 10 &&
          s.availableReplicas === 10 &&
          d.spec?.template.spec?.containers[0]?.image === image
        return ok ? d : undefined
      },
      30_000,
      `${name} to run 10 pods of ${image}`,
    )

  before(async () => {
    cp = await startTestControlPlane({ identity: 'test' })
    c = cp.api
    rest = cp.rest
    deployments = new ResourceClient(rest, builtin('apps', 'v1', 'deployments'))
    replicaSets = new ResourceClient(rest, builtin('apps', 'v1', 'replicasets'))
  })
  after(async () => {
    await cp.stop()
  })

  test('a Deployment of 10 becomes available through a ReplicaSet named after its template', async () => {
    await deployments.create(deployment('web', 'nginx:1.26'))
    const d = await settled('web', 'nginx:1.26')
    assert.equal(d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '1')
    assert.deepEqual(d.status?.conditions?.map((x) => [x.type, x.status, x.reason]).sort(), [
      ['Available', 'True', 'MinimumReplicasAvailable'],
      ['Progressing', 'True', 'NewReplicaSetAvailable'],
    ])
    const rss = (await replicaSets.list('default', { labelSelector: 'app=web' })).items
    assert.equal(rss.length, 1)
    const rs = rss[0] as ReplicaSet
    const hash = rs.metadata?.labels?.['pod-template-hash'] ?? ''
    assert.equal(rs.metadata?.name, `web-${hash}`)
    assert.equal(rs.spec?.selector.matchLabels?.['pod-template-hash'], hash)
    assert.equal(rs.metadata?.annotations?.['deployment.kubernetes.io/revision'], '1')
    assert.equal(rs.metadata?.ownerReferences?.[0]?.uid, d.metadata?.uid)
    const r = await c.kubectl(['get', 'deployment', 'web', '--no-headers'])
    assert.match(r.stdout, /^web\s+10\/10\s+10\s+10\s/)
  })

  test('an image change rolls out within maxSurge and maxUnavailable, and kubectl rollout status follows it', async () => {
    // Watch every ReplicaSet and pod of the Deployment while it rolls out.
    const rsInformer = new Informer(replicaSets, { labelSelector: 'app=web' })
    const podInformer = new Informer(new ResourceClient<Pod>(rest, builtin('', 'v1', 'pods')), {
      labelSelector: 'app=web',
    })
    let maxPods = 0
    let minReady = Infinity
    const check = () => {
      const total = rsInformer.lister.list('default').reduce((n, rs) => n + (rs.spec?.replicas ?? 0), 0)
      maxPods = Math.max(maxPods, total)
      const ready = podInformer.lister
        .list('default')
        .filter(
          (p) =>
            !p.metadata?.deletionTimestamp &&
            p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'),
        )
      minReady = Math.min(minReady, ready.length)
    }
    rsInformer.addHandler({ add: check, update: check, delete: check })
    podInformer.addHandler({ add: check, update: check, delete: check })
    const ac = new AbortController()
    const runs = [rsInformer.run(ac.signal), podInformer.run(ac.signal)]
    await Promise.all([rsInformer.waitForSync(), podInformer.waitForSync()])
    minReady = Infinity

    const set = await c.kubectl(['set', 'image', 'deployment/web', 'web=nginx:1.27'])
    assert.equal(set.code, 0, set.stderr)
    const status = await c.kubectl(['rollout', 'status', 'deployment/web', '--timeout=30s'])
    assert.equal(status.code, 0, status.stderr)
    assert.match(status.stdout, /deployment "web" successfully rolled out/)
    await settled('web', 'nginx:1.27')
    ac.abort()
    await Promise.all(runs)
    assert.ok(maxPods <= 12, `never more than replicas + maxSurge pods wanted (saw ${maxPods})`)
    assert.ok(minReady >= 9, `never fewer than replicas − maxUnavailable ready (saw ${minReady})`)

    const rss = (await replicaSets.list('default', { labelSelector: 'app=web' })).items
    const byRevision = new Map(
      rss.map((rs) => [rs.metadata?.annotations?.['deployment.kubernetes.io/revision'], rs]),
    )
    assert.equal(byRevision.get('1')?.spec?.replicas, 0)
    assert.equal(byRevision.get('2')?.spec?.replicas, 10)
    const history = await c.kubectl(['rollout', 'history', 'deployment/web'])
    assert.equal(history.code, 0, history.stderr)
    assert.match(history.stdout, /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/)
  })

  test('kubectl rollout undo returns to the previous ReplicaSet, with a new revision', async () => {
    const before = (await replicaSets.list('default', { labelSelector: 'app=web' })).items
    const first = before.find((rs) => rs.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '1')
    const undo = await c.kubectl(['rollout', 'undo', 'deployment/web'])
    assert.equal(undo.code, 0, undo.stderr)
    const d = await settled('web', 'nginx:1.26')
    assert.equal(d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '3')
    const back = await replicaSets.get('default', first?.metadata?.name ?? '')
    assert.equal(back.spec?.replicas, 10, 'the old ReplicaSet is the new one again')
    assert.equal(back.metadata?.annotations?.['deployment.kubernetes.io/revision'], '3')
    assert.equal(back.metadata?.annotations?.['deployment.kubernetes.io/revision-history'], '1')
    const after = (await replicaSets.list('default', { labelSelector: 'app=web' })).items
    assert.equal(after.length, 2, 'no third ReplicaSet')
  })

  test('paused, a template change makes no new ReplicaSet; resumed, it rolls out; restart rolls out again', async () => {
    assert.equal((await c.kubectl(['rollout', 'pause', 'deployment/web'])).code, 0)
    await until(
      async () =>
        (await deployments.get('default', 'web')).status?.conditions?.find((x) => x.type === 'Progressing')
          ?.reason === 'DeploymentPaused',
      10_000,
      'Progressing to say DeploymentPaused',
    )
    assert.equal((await c.kubectl(['set', 'image', 'deployment/web', 'web=nginx:1.28'])).code, 0)
    await new Promise((r) => setTimeout(r, 500))
    assert.equal((await replicaSets.list('default', { labelSelector: 'app=web' })).items.length, 2)
    assert.equal((await c.kubectl(['rollout', 'resume', 'deployment/web'])).code, 0)
    await settled('web', 'nginx:1.28')
    assert.equal((await replicaSets.list('default', { labelSelector: 'app=web' })).items.length, 3)

    const restart = await c.kubectl(['rollout', 'restart', 'deployment/web'])
    assert.equal(restart.code, 0, restart.stderr)
    const status = await c.kubectl(['rollout', 'status', 'deployment/web', '--timeout=30s'])
    assert.equal(status.code, 0, status.stderr)
    const d = await settled('web', 'nginx:1.28')
    assert.equal(d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '5')
  })

  test('kubectl scale is followed; a Recreate rollout never runs old and new pods together', async () => {
    const scaled = await c.kubectl(['scale', 'deployment/web', '--replicas=4'])
    assert.equal(scaled.code, 0, scaled.stderr)
    await until(
      async () => (await deployments.get('default', 'web')).status?.availableReplicas === 4,
      20_000,
      '4 available',
    )

    const recreate = deployment('batch', 'busybox:1')
    recreate.spec = {
      ...(recreate.spec as NonNullable<Deployment['spec']>),
      replicas: 3,
      strategy: { type: 'Recreate' },
    }
    await deployments.create(recreate)
    await until(
      async () => (await deployments.get('default', 'batch')).status?.availableReplicas === 3,
      20_000,
      'batch ready',
    )
    const pods = new ResourceClient<Pod>(rest, builtin('', 'v1', 'pods'))
    const podInformer = new Informer(pods, { labelSelector: 'app=batch' })
    const images = new Set<string>()
    let overlap = false
    const check = () => {
      const live = podInformer.lister.list('default').filter((p) => !p.metadata?.deletionTimestamp)
      const seen = new Set(live.map((p) => p.spec?.containers[0]?.image ?? ''))
      for (const i of seen) images.add(i)
      if (seen.size > 1) overlap = true
    }
    podInformer.addHandler({ add: check, update: check, delete: check })
    const ac = new AbortController()
    const run = podInformer.run(ac.signal)
    await podInformer.waitForSync()
    assert.equal((await c.kubectl(['set', 'image', 'deployment/batch', 'web=busybox:2'])).code, 0)
    await until(
      async () => {
        const d = await deployments.get('default', 'batch')
        const s = d.status
        return (
          s?.observedGeneration === d.metadata?.generation &&
          s?.updatedReplicas === 3 &&
          s.availableReplicas === 3 &&
          s.replicas === 3
        )
      },
      20_000,
      'the Recreate rollout',
    )
    ac.abort()
    await run
    assert.equal(overlap, false, 'old and new pods never ran together')
    assert.deepEqual([...images].sort(), ['busybox:1', 'busybox:2'])
  })
  test('kubectl delete deployment leaves what Kubernetes leaves, for each cascade', async () => {
    const pods = new ResourceClient<Pod>(rest, builtin('', 'v1', 'pods'))
    const live = async (app: string) => ({
      rss: (await replicaSets.list('default', { labelSelector: `app=${app}` })).items.filter(
        (r) => !r.metadata?.deletionTimestamp,
      ),
      pods: (await pods.list('default', { labelSelector: `app=${app}` })).items.filter(
        (p) => !p.metadata?.deletionTimestamp,
      ),
    })
    for (const cascade of ['background', 'foreground', 'orphan']) {
      const name = `del-${cascade}`
      const d = deployment(name, 'nginx:1.27')
      d.spec = { ...(d.spec as NonNullable<Deployment['spec']>), replicas: 2 }
      await deployments.create(d)
      await until(
        async () => (await deployments.get('default', name)).status?.availableReplicas === 2,
        20_000,
        `${name} ready`,
      )
      const r = await c.kubectl(['delete', 'deployment', name, `--cascade=${cascade}`])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, new RegExp(`deployment.apps "${name}" deleted`))
      await assert.rejects(deployments.get('default', name), /not found/)
      if (cascade === 'orphan') {
        // The ReplicaSet and its pods stay, no longer owned by anything.
        const left = await until(
          async () => {
            const l = await live(name)
            return l.rss.length === 1 && (l.rss[0]?.metadata?.ownerReferences ?? []).length === 0
              ? l
              : undefined
          },
          20_000,
          'the orphaned ReplicaSet',
        )
        assert.equal(left.pods.length, 2)
      } else {
        // The ReplicaSet and its pods go with it.
        await until(
          async () => {
            const l = await live(name)
            return l.rss.length === 0 && l.pods.length === 0
          },
          20_000,
          `the ${cascade} cascade`,
        )
      }
    }
  })
})
