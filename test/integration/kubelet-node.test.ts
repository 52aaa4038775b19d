import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Lease } from '../../src/api/generated/types/coordination-v1.ts'
import type { Event, Node, NodeCondition, Pod } from '../../src/api/generated/types/core-v1.ts'
import { FakeClock } from '../../src/base/clock.ts'
import type { ClientConfig } from '../../src/client/index.ts'
import { startKubelet, type PodManagerContext, type RunningKubelet } from '../../src/kubelet/index.ts'
import { FakeRuntime } from '../../src/kubelet/runtime/fake/fake-runtime.ts'
import { nodeClientConfig, testLog } from '../support/cluster.ts'
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.ts'
import { until } from '../support/until.ts'

/**
 * A kubelet on the fake runtime against an in-process control plane (node-ipam and node-lifecycle
 * controllers), authenticating with a client certificate for system:node:<name>, so the Node
 * authorizer and NodeRestriction judge everything it writes. Its clock is a FakeClock: the test
 * moves it 10 s at a time and counts the status PATCHes.
 */
describe('the kubelet node side', () => {
  let plane: TestControlPlane
  let nodeClient: ClientConfig
  const nodeName = 'kubelet-node-1'
  const clock = new FakeClock()
  const runtime = new FakeRuntime({ clock })
  let kubelet: RunningKubelet | undefined
  let podContext: PodManagerContext | undefined
  let podManagerStopped = false

  const nodes = () => plane.client<Node>('', 'v1', 'nodes')
  const leases = () => plane.client<Lease>('coordination.k8s.io', 'v1', 'leases')
  const getNode = () => nodes().get('', nodeName)
  const ready = (n: Node): NodeCondition | undefined => n.status?.conditions?.find((c) => c.type === 'Ready')
  /** Moves the kubelet's time on and waits until both its loops (status, lease) are asleep again. */
  const tick = async (ms = 10_000) => {
    const rounds = kubelet?.nodeStatus.rounds ?? 0
    clock.advance(ms)
    await until(() => clock.pendingTimers() >= 2, 10_000, 'the kubelet to go back to sleep')
    assert.ok((kubelet?.nodeStatus.rounds ?? 0) > rounds, 'a status round ran')
  }

  before(async () => {
    plane = await startTestControlPlane({
      readyPods: false,
      controllers: ['nodeipam', 'nodelifecycle'],
      settings: { nodeMonitorGracePeriodMs: 3000, nodeMonitorPeriodMs: 200, clusterCIDR: '10.244.0.0/16' },
    })
    nodeClient = await nodeClientConfig(plane.api, nodeName)
  })

  after(async () => {
    await kubelet?.stop()
    await plane?.stop()
  })

  const start = (podManager?: { start(ctx: PodManagerContext): void; stop(): Promise<void> }) =>
    startKubelet({
      ...(podManager ? { podManager } : {}),
      client: nodeClient,
      nodeName,
      runtime,
      clock,
      log: testLog,
      machine: {
        cpus: 4,
        memoryBytes: 8 * 1024 ** 3,
        ephemeralStorageBytes: 50 * 1024 ** 3,
        hugePageSizes: ['2Mi'],
        internalIP: '127.0.0.1',
        hostname: nodeName,
      },
      nodeLabels: { 'node.kubernetes.io/pool': 'blue', tier: 'gold' },
      registerWithTaints: [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }],
    })

  test('registers its Node with labels, taints, capacity and Ready=True', async () => {
    kubelet = start()
    const node = await until(() => getNode().catch(() => undefined), 20_000, 'the Node to be registered')
    const labels = node.metadata?.labels ?? {}
    assert.equal(labels['kubernetes.io/hostname'], nodeName)
    assert.equal(labels['kubernetes.io/os'], 'linux')
    assert.ok(labels['kubernetes.io/arch'])
    assert.equal(labels['node.kubernetes.io/pool'], 'blue')
    assert.equal(labels.tier, 'gold')
    assert.ok(
      node.spec?.taints?.some(
        (t) => t.key === 'dedicated' && t.value === 'infra' && t.effect === 'NoSchedule',
      ),
    )
    assert.deepEqual(node.status?.capacity, {
      cpu: '4',
      memory: '8Gi',
      pods: '110',
      'ephemeral-storage': '50Gi',
      'hugepages-2Mi': '0',
    })
    assert.deepEqual(node.status?.allocatable, {
      cpu: '4',
      memory: '8092Mi',
      pods: '110',
      'ephemeral-storage': '45Gi',
      'hugepages-2Mi': '0',
    })
    assert.deepEqual(node.status?.addresses, [
      { type: 'InternalIP', address: '127.0.0.1' },
      { type: 'Hostname', address: nodeName },
    ])
    assert.equal(node.status?.nodeInfo?.containerRuntimeVersion, 'fake://0.1.0')
    assert.equal(node.status?.nodeInfo?.kubeletVersion, 'v1.35.0')
    assert.equal(node.status?.daemonEndpoints?.kubeletEndpoint?.Port, 10250)
    assert.equal(ready(node)?.status, 'True')
    assert.equal(ready(node)?.reason, 'KubeletReady')
    assert.equal(ready(node)?.message, 'kubelet is posting ready status')
    assert.deepEqual(
      node.status?.conditions?.map((c) => `${c.type}=${c.status}`),
      ['MemoryPressure=False', 'DiskPressure=False', 'PIDPressure=False', 'Ready=True'],
    )
  })

  test('holds a Lease in kube-node-lease owned by its Node, renewed every 10 s', async () => {
    const node = await getNode()
    const lease = await until(
      () =>
        leases()
          .get('kube-node-lease', nodeName)
          .catch(() => undefined),
      10_000,
      'the Lease',
    )
    assert.equal(lease.spec?.holderIdentity, nodeName)
    assert.equal(lease.spec?.leaseDurationSeconds, 40)
    await until(() => clock.pendingTimers() >= 2, 10_000, 'the kubelet to sleep')
    await tick()
    const renewed = await leases().get('kube-node-lease', nodeName)
    assert.notEqual(renewed.spec?.renewTime, lease.spec?.renewTime)
    assert.equal(renewed.spec?.renewTime, new Date(clock.now()).toISOString().replace('Z', '000Z'))
    assert.deepEqual(renewed.metadata?.ownerReferences, [
      { apiVersion: 'v1', kind: 'Node', name: nodeName, uid: node.metadata?.uid },
    ])
  })

  test('hands the podCIDR node-ipam gave it to the runtime', async () => {
    const cidr = await until(async () => (await getNode()).spec?.podCIDR, 10_000, 'a podCIDR')
    await tick()
    const calls = runtime.calls('updateRuntimeConfig')
    assert.deepEqual(calls.at(-1)?.request, { runtimeConfig: { networkConfig: { podCidr: cidr } } })
  })

  test('patches its status only when it changed or the report interval passed', async () => {
    const k = kubelet
    assert.ok(k)
    // The node-lifecycle controller may have tainted the node meanwhile: settle first.
    await tick()
    const base = k.nodeStatus.patches
    for (let i = 0; i < 5; i++) await tick()
    assert.equal(k.nodeStatus.patches, base, 'a status that only beats is not written')

    runtime.setCondition({
      type: 'NetworkReady',
      status: false,
      reason: 'NetworkPluginNotReady',
      message: 'Network plugin returns error: cni plugin not initialized',
    })
    await tick()
    assert.equal(k.nodeStatus.patches, base + 1)
    const notReady = ready(await getNode())
    assert.equal(notReady?.status, 'False')
    assert.equal(notReady?.reason, 'KubeletNotReady')
    assert.equal(
      notReady?.message,
      'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
    )
    await tick()
    assert.equal(k.nodeStatus.patches, base + 1, 'the same NotReady is not written again')

    runtime.setCondition({ type: 'NetworkReady', status: true })
    await tick()
    assert.equal(k.nodeStatus.patches, base + 2)
    const back = ready(await getNode())
    assert.equal(back?.status, 'True')
    assert.equal(back?.lastTransitionTime, new Date(clock.now()).toISOString().replace(/\.\d+Z$/, 'Z'))

    // Five minutes after the last write the status goes out even though nothing changed.
    for (let i = 0; i < 29; i++) await tick()
    assert.equal(k.nodeStatus.patches, base + 2)
    await tick()
    assert.equal(k.nodeStatus.patches, base + 3)
    const heartbeat = ready(await getNode())?.lastHeartbeatTime
    assert.equal(heartbeat, new Date(clock.now()).toISOString().replace(/\.\d+Z$/, 'Z'))
  })

  test('records Starting and the condition events on its Node', async () => {
    const events = plane.client<Event>('', 'v1', 'events')
    const reasons = await until(
      async () => {
        const list = await events.list('default', { fieldSelector: `involvedObject.name=${nodeName}` })
        const r = new Set(list.items.map((e) => e.reason))
        return (
          [
            'Starting',
            'NodeHasSufficientMemory',
            'NodeHasNoDiskPressure',
            'NodeHasSufficientPID',
            'NodeNotReady',
            'NodeReady',
          ].every((x) => r.has(x)) && r
        )
      },
      10_000,
      'the kubelet events',
    )
    assert.ok(reasons.has('NodeAllocatableEnforced'))
    const list = await events.list('default', { fieldSelector: `involvedObject.name=${nodeName}` })
    const starting = list.items.find((e) => e.reason === 'Starting')
    assert.equal(starting?.message, 'Starting kubelet.')
    assert.equal(starting?.source?.component, 'kubelet')
    assert.equal(starting?.involvedObject.kind, 'Node')
  })

  test('records NodeNotSchedulable and NodeSchedulable when the node is cordoned and uncordoned', async () => {
    const events = plane.client<Event>('', 'v1', 'events')
    const reasons = async () =>
      new Set(
        (await events.list('default', { fieldSelector: `involvedObject.name=${nodeName}` })).items.map(
          (e) => e.reason,
        ),
      )
    await nodes().patch('', nodeName, 'merge', { spec: { unschedulable: true } })
    await tick()
    await until(async () => (await reasons()).has('NodeNotSchedulable'), 10_000, 'NodeNotSchedulable')
    await nodes().patch('', nodeName, 'merge', { spec: { unschedulable: null } })
    await tick()
    await until(async () => (await reasons()).has('NodeSchedulable'), 10_000, 'NodeSchedulable')
  })

  test('when the kubelet stops, node-lifecycle marks the node Unknown and unreachable', async () => {
    await kubelet?.stop()
    kubelet = undefined
    const node = await until(
      async () => {
        const n = await getNode()
        return ready(n)?.status === 'Unknown' && n
      },
      15_000,
      'the node to go Unknown',
    )
    assert.equal(ready(node)?.reason, 'NodeStatusUnknown')
    assert.equal(ready(node)?.message, 'Kubelet stopped posting node status.')
    await until(
      async () => (await getNode()).spec?.taints?.some((t) => t.key === 'node.kubernetes.io/unreachable'),
      10_000,
      'the unreachable taint',
    )
  })

  test('a restarted kubelet keeps the existing Node, puts its default labels back and reports Ready again', async () => {
    const before = await getNode()
    await nodes().patch('', nodeName, 'merge', {
      metadata: { labels: { 'kubernetes.io/hostname': 'someone-else' } },
    })
    kubelet = start({
      start: (ctx) => (podContext = ctx),
      stop: async () => void (podManagerStopped = true),
    })
    const node = await until(
      async () => {
        const n = await getNode()
        return ready(n)?.status === 'True' && n.metadata?.labels?.['kubernetes.io/hostname'] === nodeName && n
      },
      15_000,
      'the node to be Ready again',
    )
    assert.equal(node.metadata?.uid, before.metadata?.uid)
    assert.ok(
      node.spec?.taints?.some((t) => t.key === 'dedicated'),
      'taints are left as they are',
    )
  })

  test('the pod manager gets the pods bound to its node, through an informer the kubelet runs', async () => {
    assert.ok(podContext, 'the pod manager was started')
    const ctx = podContext
    assert.equal(ctx.nodeName, nodeName)
    const pods = plane.client<Pod>('', 'v1', 'pods')
    const pod = (name: string, node: string): Pod => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: { nodeName: node, containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
    })
    await pods.create(pod('mine', nodeName))
    await pods.create(pod('theirs', 'another-node'))
    const named = (name: string) => ctx.pods.lister.list().find((p) => p.metadata?.name === name)
    await until(() => named('mine'), 10_000, 'the bound pod in the informer')
    assert.equal(named('theirs'), undefined)
    await kubelet?.stop()
    kubelet = undefined
    assert.equal(podManagerStopped, true)
  })
})
