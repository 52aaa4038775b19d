import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { ReplicaSet } from '../../src/api/generated/types/apps-v1.ts'
import type { Lease } from '../../src/api/generated/types/coordination-v1.ts'
import type { Node, Pod } from '../../src/api/generated/types/core-v1.ts'
import { builtin, loadKubeconfig, microTime, ResourceClient, RestClient } from '../../src/client/index.ts'
import { startControllerManager, type ControllerManager } from '../../src/controllers/index.ts'
import { startTestApiServer, type TestApiServer, testLog } from '../support/cluster.ts'
import { until } from '../support/until.ts'

/**
 * Node IPAM and node lifecycle against a real apiserver, with simulated nodes: Node objects that
 * report Ready and renew their Lease in kube-node-lease, as a kubelet would, until told to stop.
 */
describe('the node controllers', () => {
  let c: TestApiServer
  let rest: RestClient
  let manager: ControllerManager
  let nodes: ResourceClient<Node>
  let leases: ResourceClient<Lease>
  let pods: ResourceClient<Pod>
  const beating = new Set<string>()
  let heart: NodeJS.Timeout | undefined

  const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z')
  const ready = (status: string) => ({
    conditions: [
      {
        type: 'Ready',
        status,
        reason: 'KubeletReady',
        message: 'kubelet is posting ready status',
        lastHeartbeatTime: now(),
        lastTransitionTime: now(),
      },
    ],
  })

  async function addNode(name: string): Promise<void> {
    const created = await nodes.create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    })
    await nodes.updateStatus({ ...created, status: ready('True') })
    await leases.create({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace: 'kube-node-lease' },
      spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime(Date.now()) },
    })
    beating.add(name)
  }

  before(async () => {
    c = await startTestApiServer()
    rest = new RestClient(loadKubeconfig(c.server.adminKubeconfig))
    nodes = new ResourceClient(rest, builtin('', 'v1', 'nodes'))
    leases = new ResourceClient(rest, builtin('coordination.k8s.io', 'v1', 'leases'))
    pods = new ResourceClient(rest, builtin('', 'v1', 'pods'))
    // The kubelets' heartbeat: renew each beating node's Lease every 300 ms.
    heart = setInterval(() => {
      for (const name of beating) {
        void leases
          .patch('kube-node-lease', name, 'merge', { spec: { renewTime: microTime(Date.now()) } })
          .catch(() => undefined)
      }
    }, 300)
    await addNode('n1')
    await addNode('n2')
    manager = startControllerManager({
      client: loadKubeconfig(c.server.controllerManagerKubeconfig),
      useServiceAccountCredentials: true,
      controllers: ['nodeipam', 'nodelifecycle', 'replicaset'],
      settings: { nodeMonitorGracePeriodMs: 2000, nodeMonitorPeriodMs: 200 },
      leaderElect: false,
      log: testLog,
    })
  })
  after(async () => {
    clearInterval(heart)
    await manager.stop()
    await rest.close()
    await c.stop()
  })

  test('every node gets its own /24 out of the cluster CIDR', async () => {
    const cidrs = await until(
      async () => {
        const list = (await nodes.list('')).items
        const all = list.map((n) => n.spec?.podCIDR)
        return all.every(Boolean) && all.length === 2 ? list : undefined
      },
      10_000,
      'pod CIDRs',
    )
    const got = cidrs.map((n) => n.spec?.podCIDR ?? '').sort()
    assert.deepEqual(got, ['10.42.0.0/24', '10.42.1.0/24'])
    for (const n of cidrs) assert.deepEqual(n.spec?.podCIDRs, [n.spec?.podCIDR])
  })

  test('a node whose lease stops is tainted unreachable, its pods are evicted and replaced; back, the taints go', async () => {
    const rss = new ResourceClient<ReplicaSet>(rest, builtin('apps', 'v1', 'replicasets'))
    await rss.create({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [{ name: 'web', image: 'nginx' }],
            tolerations: [
              {
                key: 'node.kubernetes.io/unreachable',
                operator: 'Exists',
                effect: 'NoExecute',
                tolerationSeconds: 1,
              },
            ],
          },
        },
      },
    })
    const first = await until(
      async () => {
        const items = (await pods.list('default', { labelSelector: 'app=web' })).items
        return items.length === 2 ? items : undefined
      },
      10_000,
      '2 pods',
    )
    // Bind both to n1, as the scheduler would.
    for (const p of first) {
      await rest.request('POST', `/api/v1/namespaces/default/pods/${p.metadata?.name ?? ''}/binding`, {
        body: {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name: p.metadata?.name },
          target: { kind: 'Node', name: 'n1' },
        },
      })
      // The default tolerations were left out: the pod brought its own for unreachable.
      const tolerations = (await pods.get('default', p.metadata?.name ?? '')).spec?.tolerations ?? []
      assert.deepEqual(
        tolerations.map((t) => `${t.key}:${t.tolerationSeconds}`),
        ['node.kubernetes.io/unreachable:1', 'node.kubernetes.io/not-ready:300'],
      )
    }

    beating.delete('n1')
    const silent = await until(
      async () => {
        const n = await nodes.get('', 'n1')
        const unreachable = n.spec?.taints?.some(
          (t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute',
        )
        return unreachable ? n : undefined
      },
      10_000,
      'n1 to be tainted unreachable',
    )
    const cond = silent.status?.conditions?.find((x) => x.type === 'Ready')
    assert.deepEqual([cond?.status, cond?.reason], ['Unknown', 'NodeStatusUnknown'])
    assert.ok(
      silent.spec?.taints?.some(
        (t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoSchedule',
      ),
    )
    const n2 = await nodes.get('', 'n2')
    assert.equal(n2.spec?.taints, undefined, 'the node that kept beating is untouched')

    // Tolerated for one second, then evicted (marked, and deleted gracefully: no kubelet finishes them).
    await until(
      async () => {
        const items = (await pods.list('default', { labelSelector: 'app=web' })).items
        const evicted = items.filter(
          (p) => first.some((f) => f.metadata?.uid === p.metadata?.uid) && p.metadata?.deletionTimestamp,
        )
        const replacements = items.filter((p) => !p.metadata?.deletionTimestamp)
        return evicted.length === 2 && replacements.length === 2
      },
      15_000,
      'the pods to be evicted and replaced',
    )
    const evicted = await pods.get('default', first[0]?.metadata?.name ?? '')
    const target = evicted.status?.conditions?.find((x) => x.type === 'DisruptionTarget')
    assert.deepEqual([target?.status, target?.reason], ['True', 'DeletionByTaintManager'])

    // The kubelet comes back: Ready again, beating again; the taints go.
    const back = await nodes.get('', 'n1')
    await nodes.updateStatus({ ...back, status: ready('True') })
    beating.add('n1')
    await until(
      async () => ((await nodes.get('', 'n1')).spec?.taints ?? []).length === 0,
      10_000,
      'the taints to go',
    )
  })
})
