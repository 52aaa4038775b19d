import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Event, Node, Pod, PodSpec } from '../../src/api/generated/types/core-v1.ts'
import type { PodDisruptionBudget } from '../../src/api/generated/types/policy-v1.ts'
import type { PriorityClass } from '../../src/api/generated/types/scheduling-v1.ts'
import { ApiStatusError, loadKubeconfig, type ResourceClient } from '../../src/client/index.ts'
import { startScheduler, type RunningScheduler } from '../../src/scheduler/index.ts'
import { testLog } from '../support/cluster.ts'
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.ts'
import { until } from '../support/until.ts'

/**
 * Priority and preemption against a real apiserver: PriorityClasses resolved by admission, the
 * scheduler's DefaultPreemption, nominated nodes, and scheduling gates. Each test has nodes of its
 * own (pods select them by label, or are placed with spec.nodeName), so the tests do not meet.
 *
 * No kubelet runs here: a victim deleted gracefully keeps its deletionTimestamp until something
 * deletes it with grace 0, which the tests do, as the kubelet would once its containers stopped.
 */
describe('scheduler preemption, priority classes and scheduling gates', () => {
  let cp: TestControlPlane
  let scheduler: RunningScheduler
  let nodes: ResourceClient<Node>
  let pods: ResourceClient<Pod>
  let events: ResourceClient<Event>

  const addNode = async (name: string, group: string, cpu = '1') => {
    const created = await nodes.create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name, group } },
    })
    await nodes.updateStatus({
      ...created,
      status: {
        allocatable: { cpu, memory: '8Gi', pods: '110' },
        capacity: { cpu, memory: '8Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    })
  }

  const createPod = (
    name: string,
    o: { cpu: string; spec?: Partial<PodSpec>; labels?: Record<string, string> },
  ) =>
    pods.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', ...(o.labels ? { labels: o.labels } : {}) },
      spec: {
        containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: o.cpu } } }],
        ...o.spec,
      },
    })

  const boundTo = (name: string) =>
    until(async () => (await pods.get('default', name)).spec?.nodeName, 15_000, `${name} to be bound`)

  /** What the kubelet does once a terminating pod's containers are gone. */
  const finishTermination = (name: string) => pods.delete('default', name, { gracePeriodSeconds: 0 })

  before(async () => {
    cp = await startTestControlPlane({ controllers: [], leaderElect: false, readyPods: false })
    nodes = cp.client('', 'v1', 'nodes')
    pods = cp.client('', 'v1', 'pods')
    events = cp.client('', 'v1', 'events')
    const classes = cp.client<PriorityClass>('scheduling.k8s.io', 'v1', 'priorityclasses')
    const pc = (name: string, value: number, preemptionPolicy?: string) =>
      classes.create({
        apiVersion: 'scheduling.k8s.io/v1',
        kind: 'PriorityClass',
        metadata: { name },
        value,
        ...(preemptionPolicy ? { preemptionPolicy } : {}),
      })
    await pc('low', 100)
    await pc('medium', 500)
    await pc('high', 1000)
    await pc('high-never', 1000, 'Never')
    scheduler = startScheduler({
      client: loadKubeconfig(cp.api.server.schedulerKubeconfig),
      leaderElect: false,
      log: testLog,
    })
  })
  after(async () => {
    await scheduler.stop()
    await cp.stop()
  })

  test('the system priority classes exist, and pods get their class’s priority', async () => {
    const listed = await cp.client<PriorityClass>('scheduling.k8s.io', 'v1', 'priorityclasses').list('')
    assert.deepEqual(
      listed.items.map((c) => [c.metadata?.name, c.value]),
      [
        ['high', 1000],
        ['high-never', 1000],
        ['low', 100],
        ['medium', 500],
        ['system-cluster-critical', 2_000_000_000],
        ['system-node-critical', 2_000_001_000],
      ],
    )
    const p = await createPod('classy', {
      cpu: '1m',
      spec: { priorityClassName: 'high-never', nodeName: 'none' },
    })
    assert.deepEqual([p.spec?.priority, p.spec?.preemptionPolicy], [1000, 'Never'])
    const plain = await createPod('plain-priority', { cpu: '1m', spec: { nodeName: 'none' } })
    assert.deepEqual([plain.spec?.priority, plain.spec?.preemptionPolicy], [0, 'PreemptLowerPriority'])
  })

  test('an unknown priorityClassName is refused as Kubernetes refuses it', async () => {
    await assert.rejects(
      createPod('lost', { cpu: '1m', spec: { priorityClassName: 'nope' } }),
      (err: unknown) => {
        assert.ok(err instanceof ApiStatusError)
        assert.deepEqual(
          [err.code, err.reason, err.message],
          [403, 'Forbidden', 'pods "lost" is forbidden: no PriorityClass with name nope was found'],
        )
        return true
      },
    )
  })

  test('a high-priority pod preempts a low-priority one and is bound where it made room', async () => {
    await addNode('pre-1', 'pre')
    const victim = await createPod('victim', {
      cpu: '800m',
      spec: { priorityClassName: 'low', nodeSelector: { group: 'pre' } },
    })
    assert.equal(await boundTo('victim'), 'pre-1')
    const preemptor = await createPod('preemptor', {
      cpu: '500m',
      spec: { priorityClassName: 'high', nodeSelector: { group: 'pre' } },
    })

    const terminating = await until(
      async () => {
        const v = await pods.get('default', 'victim')
        return v.metadata?.deletionTimestamp ? v : undefined
      },
      15_000,
      'the victim to be deleted gracefully',
    )
    const disruption = terminating.status?.conditions?.find((c) => c.type === 'DisruptionTarget')
    assert.deepEqual(
      [disruption?.status, disruption?.reason, disruption?.message],
      ['True', 'PreemptionByScheduler', 'default-scheduler: preempting to accommodate a higher priority pod'],
    )
    assert.equal(terminating.metadata?.uid, victim.metadata?.uid)
    const nominated = await pods.get('default', 'preemptor')
    assert.equal(nominated.status?.nominatedNodeName, 'pre-1')
    assert.equal(nominated.spec?.nodeName, undefined, 'not bound while the victim terminates')
    const preempted = await until(
      async () =>
        (await events.list('default', { fieldSelector: 'involvedObject.name=victim' })).items.find(
          (e) => e.reason === 'Preempted',
        ),
      10_000,
      'the Preempted event',
    )
    assert.equal(preempted.message, `Preempted by pod ${preemptor.metadata?.uid ?? ''} on node pre-1`)

    await finishTermination('victim')
    assert.equal(await boundTo('preemptor'), 'pre-1')
    const bound = await pods.get('default', 'preemptor')
    assert.equal(bound.status?.nominatedNodeName, undefined, 'the nomination is cleared on binding')
  })

  test('of two nodes, preemption spares the pod a PodDisruptionBudget protects', async () => {
    await addNode('pdb-1', 'pdb')
    await addNode('pdb-2', 'pdb')
    await createPod('guarded', {
      cpu: '800m',
      labels: { app: 'guarded' },
      spec: { priorityClassName: 'low', nodeName: 'pdb-1' },
    })
    // Without the budget, the guarded pod (the lower priority) would be the one preempted.
    await createPod('unguarded', { cpu: '800m', spec: { priorityClassName: 'medium', nodeName: 'pdb-2' } })
    const pdbs = cp.client<PodDisruptionBudget>('policy', 'v1', 'poddisruptionbudgets')
    const budget = await pdbs.create({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'guarded', namespace: 'default' },
      spec: { minAvailable: 1, selector: { matchLabels: { app: 'guarded' } } },
    })
    // What the disruption controller (not part of k8ts yet) would report: no disruption allowed.
    await pdbs.updateStatus({
      ...budget,
      status: { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1 },
    })
    await until(
      async () => (await pdbs.get('default', 'guarded')).status?.disruptionsAllowed === 0,
      5_000,
      'the budget’s status',
    )
    await new Promise((r) => setTimeout(r, 200)) // the scheduler's PDB informer sees it too

    await createPod('important', {
      cpu: '500m',
      spec: { priorityClassName: 'high', nodeSelector: { group: 'pdb' } },
    })
    await until(
      async () => (await pods.get('default', 'unguarded')).metadata?.deletionTimestamp,
      15_000,
      'the unguarded pod to be preempted',
    )
    assert.equal((await pods.get('default', 'important')).status?.nominatedNodeName, 'pdb-2')
    assert.equal((await pods.get('default', 'guarded')).metadata?.deletionTimestamp, undefined)
    await finishTermination('unguarded')
    assert.equal(await boundTo('important'), 'pdb-2')
  })

  test('a pod with preemptionPolicy Never waits instead of preempting', async () => {
    await addNode('never-1', 'never')
    await createPod('resident', { cpu: '800m', spec: { priorityClassName: 'low', nodeName: 'never-1' } })
    await createPod('polite', {
      cpu: '500m',
      spec: { priorityClassName: 'high-never', nodeSelector: { group: 'never' } },
    })
    const condition = await until(
      async () =>
        (await pods.get('default', 'polite')).status?.conditions?.find(
          (c) => c.type === 'PodScheduled' && c.status === 'False',
        ),
      10_000,
      'PodScheduled=False',
    )
    assert.equal(condition.reason, 'Unschedulable')
    assert.match(
      condition.message ?? '',
      /^0\/\d+ nodes are available: .*1 Insufficient cpu.*\. preemption: not eligible due to preemptionPolicy=Never\.$/,
    )
    const resident = await pods.get('default', 'resident')
    assert.equal(resident.metadata?.deletionTimestamp, undefined, 'nothing was preempted')
    assert.equal((await pods.get('default', 'polite')).status?.nominatedNodeName, undefined)
  })

  test('a gated pod stays pending until its gate is removed, then is bound', async () => {
    await addNode('gate-1', 'gate')
    await createPod('gated', {
      cpu: '100m',
      spec: { nodeSelector: { group: 'gate' }, schedulingGates: [{ name: 'example.com/approval' }] },
    })
    const created = await pods.get('default', 'gated')
    const gated = created.status?.conditions?.find((c) => c.type === 'PodScheduled')
    assert.deepEqual(
      [gated?.status, gated?.reason, gated?.message],
      ['False', 'SchedulingGated', 'Scheduling is blocked due to non-empty scheduling gates'],
    )
    const kubectl = await cp.api.kubectl(['get', 'pod', 'gated', '--no-headers'])
    assert.match(kubectl.stdout, /SchedulingGated/)
    await new Promise((r) => setTimeout(r, 1500))
    assert.equal((await pods.get('default', 'gated')).spec?.nodeName, undefined, 'not bound while gated')

    const current = await pods.get('default', 'gated')
    await pods.update({ ...current, spec: { ...(current.spec ?? { containers: [] }), schedulingGates: [] } })
    assert.equal(await boundTo('gated'), 'gate-1')
  })
})
