import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type {
  ControllerRevision,
  DaemonSet,
  DaemonSetUpdateStrategy,
} from '../../src/api/generated/types/apps-v1.ts'
import type { Event, Node, Pod, Taint, Toleration } from '../../src/api/generated/types/core-v1.ts'
import { FakeClock } from '../../src/base/clock.ts'
import {
  Informer,
  isConflict,
  isNotFound,
  loadKubeconfig,
  type ResourceClient,
} from '../../src/client/index.ts'
import { startControllerManager, type ControllerManager } from '../../src/controllers/index.ts'
import { startScheduler, type RunningScheduler } from '../../src/scheduler/index.ts'
import { kubectlMissing, testLog } from '../support/cluster.ts'
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.ts'
import { until } from '../support/until.ts'

/**
 * The DaemonSet controller with the scheduler against a real apiserver. Node objects stand in for
 * machines, and a small stand-in for their kubelets (below) reports each bound pod Running and
 * Ready and finishes the deletion of pods being deleted. podgc runs in a controller-manager of its
 * own on a fake clock, so the 40 s quarantine of a vanished node's pods passes at once.
 */
describe('the DaemonSet controller', () => {
  const ns = 'ds-test'
  let cp: TestControlPlane
  let scheduler: RunningScheduler
  let podgc: ControllerManager
  const gcClock = new FakeClock(Date.now())
  let kubelets: { stop(): Promise<void> }
  let nodes: ResourceClient<Node>
  let pods: ResourceClient<Pod>
  let daemonSets: ResourceClient<DaemonSet>

  const addNode = async (name: string, taints?: Taint[]) => {
    const created = await nodes.create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name } },
      ...(taints ? { spec: { taints } } : {}),
    })
    await nodes.updateStatus({
      ...created,
      status: {
        allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
        capacity: { cpu: '4', memory: '8Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    })
  }

  const setTaints = async (name: string, taints: Taint[]) => {
    for (;;) {
      const n = await nodes.get('', name)
      try {
        await nodes.update({ ...n, spec: { ...n.spec, taints } })
        return
      } catch (err) {
        if (!isConflict(err)) throw err
      }
    }
  }

  const daemonSet = (name: string, tolerations?: Toleration[]): DaemonSet => ({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: ns },
    spec: {
      selector: { matchLabels: { app: name } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: 'agent', image: 'agent:1' }],
          ...(tolerations ? { tolerations } : {}),
        },
      },
    },
  })

  /** The live (not terminating) pods of a DaemonSet, by the node they are bound to ('' while unbound). */
  const podsOf = async (app: string) => {
    const items = (await pods.list(ns, { labelSelector: `app=${app}` })).items
    return items.filter((p) => !p.metadata?.deletionTimestamp)
  }
  const boundNodes = async (app: string) =>
    (await podsOf(app))
      .map((p) => p.spec?.nodeName ?? '')
      .sort()
      .join(',')

  const statusOf = async (name: string) => (await daemonSets.get(ns, name)).status

  before(async () => {
    cp = await startTestControlPlane({
      controllers: ['daemonset'],
      leaderElect: false,
      readyPods: false,
      namespaces: [ns],
    })
    nodes = cp.client('', 'v1', 'nodes')
    pods = cp.client('', 'v1', 'pods')
    daemonSets = cp.client('apps', 'v1', 'daemonsets')
    kubelets = standInKubelets(pods)
    podgc = startControllerManager({
      client: loadKubeconfig(cp.api.server.controllerManagerKubeconfig),
      useServiceAccountCredentials: true,
      leaderElect: false,
      controllers: ['podgc'],
      clock: gcClock,
      log: testLog,
    })
    scheduler = startScheduler({
      client: loadKubeconfig(cp.api.server.schedulerKubeconfig),
      leaderElect: false,
      log: testLog,
    })
    await addNode('n1')
    await addNode('n2')
  })
  after(async () => {
    await scheduler.stop()
    await podgc.stop()
    await kubelets.stop()
    await cp.stop()
  })

  test('one pod per node, bound by the scheduler through the node affinity the controller sets', async () => {
    await daemonSets.create(daemonSet('agent'))
    await until(async () => (await boundNodes('agent')) === 'n1,n2', 20_000, 'agent pods bound to n1 and n2')
    for (const p of await podsOf('agent')) {
      const terms =
        p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms
      assert.deepEqual(terms, [
        { matchFields: [{ key: 'metadata.name', operator: 'In', values: [p.spec?.nodeName ?? ''] }] },
      ])
      assert.equal(p.metadata?.labels?.['pod-template-generation'], '1')
      assert.ok(p.metadata?.labels?.['controller-revision-hash'])
      assert.ok(p.spec?.tolerations?.some((t) => t.key === 'node.kubernetes.io/unreachable'))
    }
    const status = await until(
      async () => {
        const s = await statusOf('agent')
        return s?.numberAvailable === 2 && s.updatedNumberScheduled === 2 ? s : undefined
      },
      20_000,
      'agent status to count two available pods',
    )
    assert.deepEqual(status, {
      desiredNumberScheduled: 2,
      currentNumberScheduled: 2,
      numberMisscheduled: 0,
      numberReady: 2,
      updatedNumberScheduled: 2,
      numberAvailable: 2,
      numberUnavailable: 0,
      observedGeneration: 1,
    })
    const events = (await cp.client<Event>('', 'v1', 'events').list(ns)).items
    const created = events.filter((e) => e.reason === 'SuccessfulCreate' && e.involvedObject.name === 'agent')
    assert.equal(created.length, 2)
    assert.match(created[0]?.message ?? '', /^Created pod: agent-\w{5}$/)
    assert.equal(created[0]?.source?.component, 'daemonset-controller')
    assert.ok(
      events.some(
        (e) =>
          e.reason === 'Scheduled' &&
          /^Successfully assigned ds-test\/agent-\w+ to n[12]$/.test(e.message ?? ''),
      ),
    )
  })

  test('a node joining gets a pod; one joining with an untolerated NoSchedule taint does not', async () => {
    await addNode('n3')
    await addNode('n4', [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }])
    await until(async () => (await boundNodes('agent')) === 'n1,n2,n3', 20_000, 'an agent pod on n3')
    // A DaemonSet that tolerates the taint runs there too; by then the first has looked at n4.
    await daemonSets.create(daemonSet('tolerant', [{ key: 'dedicated', operator: 'Exists' }]))
    await until(
      async () => (await boundNodes('tolerant')) === 'n1,n2,n3,n4',
      20_000,
      'tolerant pods on all four nodes',
    )
    await until(
      async () => (await statusOf('agent'))?.numberAvailable === 3,
      20_000,
      'agent available on three nodes',
    )
    assert.equal(await boundNodes('agent'), 'n1,n2,n3')
    assert.equal((await statusOf('agent'))?.desiredNumberScheduled, 3)
  })

  test('a NoSchedule taint leaves the pod running (misscheduled); a NoExecute taint evicts it unless tolerated', async () => {
    await setTaints('n2', [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }])
    const s = await until(
      async () => {
        const st = await statusOf('agent')
        return st?.numberMisscheduled === 1 ? st : undefined
      },
      20_000,
      'agent to count n2 misscheduled',
    )
    assert.deepEqual([s.desiredNumberScheduled, s.currentNumberScheduled], [2, 2])
    assert.equal(await boundNodes('agent'), 'n1,n2,n3')

    await setTaints('n2', [{ key: 'dedicated', value: 'infra', effect: 'NoExecute' }])
    await until(async () => (await boundNodes('agent')) === 'n1,n3', 20_000, 'the agent pod on n2 to go')
    await until(
      async () => (await statusOf('agent'))?.numberMisscheduled === 0,
      20_000,
      'no misscheduled agent',
    )
    const events = (
      await cp.client<Event>('', 'v1', 'events').list(ns, { fieldSelector: 'reason=SuccessfulDelete' })
    ).items
    assert.ok(events.some((e) => /^Deleted pod: agent-\w{5}$/.test(e.message ?? '')))
    // The tolerant DaemonSet keeps its pod there.
    assert.equal(await boundNodes('tolerant'), 'n1,n2,n3,n4')
    await setTaints('n2', [])
    await until(async () => (await boundNodes('agent')) === 'n1,n2,n3', 20_000, 'an agent pod back on n2')
  })

  test('a node leaving: desired drops at once, and its pod is collected (podgc)', async () => {
    await nodes.delete('', 'n3')
    await until(
      async () => (await statusOf('agent'))?.desiredNumberScheduled === 2,
      20_000,
      'agent desired 2',
    )
    await until(
      async () => {
        gcClock.advance(20_000)
        return (await boundNodes('agent')) === 'n1,n2'
      },
      20_000,
      'the pod on n3 collected',
    )
    await until(
      async () => (await statusOf('agent'))?.currentNumberScheduled === 2,
      20_000,
      'agent current 2',
    )
  })

  /**
   * Watches the DaemonSet's pods and records, after every change, how many of `eligible` nodes
   * have no ready pod of it and the most pods any node had at once.
   */
  const watchRollout = async (app: string, eligible: readonly string[]) => {
    const seen = new Map<string, Readonly<Pod>>()
    const record = { unavailable: 0, perNode: 0 }
    const informer = new Informer(pods)
    const track = () => {
      const live = [...seen.values()].filter((p) => !p.metadata?.deletionTimestamp)
      const ready = new Set(
        live
          .filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
          .map((p) => p.spec?.nodeName ?? ''),
      )
      record.unavailable = Math.max(record.unavailable, eligible.filter((n) => !ready.has(n)).length)
      for (const n of eligible)
        record.perNode = Math.max(record.perNode, live.filter((p) => p.spec?.nodeName === n).length)
    }
    const mine = (p: Readonly<Pod>) => p.metadata?.namespace === ns && p.metadata.labels?.app === app
    informer.addHandler({
      add: (p) => {
        if (!mine(p)) return
        seen.set(p.metadata?.name ?? '', p)
        track()
      },
      update: (_o, p) => {
        if (!mine(p)) return
        seen.set(p.metadata?.name ?? '', p)
        track()
      },
      delete: (p) => {
        if (!seen.delete(p.metadata?.name ?? '')) return
        track()
      },
    })
    const ac = new AbortController()
    const running = informer.run(ac.signal)
    await informer.waitForSync(ac.signal)
    // What the initial list showed pod by pod is no state the cluster was in: count from here.
    record.unavailable = 0
    record.perNode = 0
    track()
    if (record.unavailable > 0) throw new Error(`${app} is not available everywhere to begin with`)
    return {
      record,
      async stop() {
        ac.abort()
        await running
      },
    }
  }

  const setImage = async (name: string, image: string, updateStrategy?: DaemonSetUpdateStrategy) => {
    const ds = await daemonSets.get(ns, name)
    const template = ds.spec?.template
    await daemonSets.update({
      ...ds,
      spec: {
        ...ds.spec,
        ...(updateStrategy ? { updateStrategy } : {}),
        selector: ds.spec?.selector ?? {},
        template: { ...template, spec: { ...template?.spec, containers: [{ name: 'agent', image }] } },
      },
    })
  }

  const rolledOut = (name: string, generation: number, nodeCount: number) =>
    until(
      async () => {
        const st = (await daemonSets.get(ns, name)).status
        return st?.observedGeneration === generation &&
          st.updatedNumberScheduled === nodeCount &&
          st.numberAvailable === nodeCount &&
          st.currentNumberScheduled === nodeCount &&
          (await podsOf(name)).length === nodeCount
          ? st
          : undefined
      },
      30_000,
      `the rollout of ${name} to finish`,
    )

  test('a rolling update replaces the pods one node at a time (maxUnavailable 1), with a new ControllerRevision', async () => {
    const watch = await watchRollout('agent', ['n1', 'n2'])
    try {
      const before = await podsOf('agent')
      await setImage('agent', 'agent:2')
      const s = await rolledOut('agent', 2, 2)
      assert.equal(s.desiredNumberScheduled, 2)
      const after = await podsOf('agent')
      for (const p of after) {
        assert.equal(p.spec?.containers[0]?.image, 'agent:2')
        assert.equal(p.metadata?.labels?.['pod-template-generation'], '2')
        assert.ok(!before.some((b) => b.metadata?.name === p.metadata?.name))
      }
      assert.deepEqual(
        watch.record,
        { unavailable: 1, perNode: 1 },
        'old pods go one at a time, before their successor comes',
      )
      const revisions = (
        await cp
          .client<ControllerRevision>('apps', 'v1', 'controllerrevisions')
          .list(ns, { labelSelector: 'app=agent' })
      ).items
      assert.deepEqual(revisions.map((r) => r.revision).sort(), [1, 2])
      const current = revisions.find((r) => r.revision === 2)
      assert.equal(
        current?.metadata?.labels?.['controller-revision-hash'],
        after[0]?.metadata?.labels?.['controller-revision-hash'],
      )
      assert.equal(
        (await daemonSets.get(ns, 'agent')).metadata?.annotations?.[
          'deprecated.daemonset.template.generation'
        ],
        '2',
      )
    } finally {
      await watch.stop()
    }
  })

  test('a rolling update with maxSurge starts each new pod beside the old one, never leaving a node without a ready pod', async () => {
    const watch = await watchRollout('tolerant', ['n1', 'n2', 'n4'])
    try {
      await setImage('tolerant', 'agent:2', {
        type: 'RollingUpdate',
        rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
      })
      await rolledOut('tolerant', 2, 3)
      for (const p of await podsOf('tolerant')) assert.equal(p.spec?.containers[0]?.image, 'agent:2')
      assert.deepEqual(watch.record, { unavailable: 0, perNode: 2 })
    } finally {
      await watch.stop()
    }
  })

  test('a failed daemon pod is deleted (FailedDaemonPod) and replaced on its node', async () => {
    const victim = (await podsOf('agent')).find((p) => p.spec?.nodeName === 'n1')
    assert.ok(victim)
    await pods.updateStatus({ ...victim, status: { ...victim.status, phase: 'Failed' } })
    await until(
      async () => {
        const now = await podsOf('agent')
        return (
          !now.some((p) => p.metadata?.name === victim.metadata?.name) &&
          now.some((p) => p.spec?.nodeName === 'n1' && p.status?.phase === 'Running')
        )
      },
      20_000,
      'a new agent pod running on n1',
    )
    const events = (
      await cp.client<Event>('', 'v1', 'events').list(ns, { fieldSelector: 'reason=FailedDaemonPod' })
    ).items
    assert.deepEqual(
      events.map((e) => [e.type, e.message]),
      [
        [
          'Warning',
          `Found failed daemon pod ${ns}/${victim.metadata?.name ?? ''} on node n1, will try to kill it`,
        ],
      ],
    )
    await rolledOut('agent', 2, 2)
  })

  test('kubectl get ds and kubectl rollout status', { skip: kubectlMissing }, async () => {
    const r = await cp.api.kubectl(['get', 'ds', '-n', ns])
    assert.equal(r.code, 0, r.stderr)
    const lines = r.stdout.trim().split('\n')
    assert.match(
      lines[0] ?? '',
      /^NAME\s+DESIRED\s+CURRENT\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+NODE SELECTOR\s+AGE$/,
    )
    assert.match(lines[1] ?? '', /^agent\s+2\s+2\s+2\s+2\s+2\s+<none>\s+\d+s$/)
    assert.match(lines[2] ?? '', /^tolerant\s+3\s+3\s+3\s+3\s+3\s+<none>\s+\d+s$/)
    const rollout = await cp.api.kubectl(['rollout', 'status', 'ds/agent', '-n', ns, '--timeout=20s'])
    assert.equal(rollout.code, 0, rollout.stderr)
    assert.equal(rollout.stdout.trim(), 'daemon set "agent" successfully rolled out')
    const history = await cp.api.kubectl(['rollout', 'history', 'ds/agent', '-n', ns])
    assert.equal(history.code, 0, history.stderr)
    assert.match(history.stdout, /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/)

    const describe = await cp.api.kubectl(['describe', 'ds/agent', '-n', ns])
    assert.equal(describe.code, 0, describe.stderr)
    for (const line of [
      /^Desired Number of Nodes Scheduled: 2$/m,
      /^Number of Nodes Scheduled with Up-to-date Pods: 2$/m,
      /^Number of Nodes Misscheduled: 0$/m,
      /^Pods Status:\s+2 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed$/m,
      /^\s+Normal\s+SuccessfulDelete\s+\S+\s+daemonset-controller\s+Deleted pod: agent-\w{5}$/m,
    ])
      assert.match(describe.stdout, line)
    // Undo applies revision 1's template again: that revision becomes number 3, and the pods go back.
    const undo = await cp.api.kubectl(['rollout', 'undo', 'ds/agent', '-n', ns])
    assert.equal(undo.code, 0, undo.stderr)
    assert.equal(undo.stdout.trim(), 'daemonset.apps/agent rolled back')
    await rolledOut('agent', 3, 2)
    for (const p of await podsOf('agent')) assert.equal(p.spec?.containers[0]?.image, 'agent:1')
    const revisions = (
      await cp
        .client<ControllerRevision>('apps', 'v1', 'controllerrevisions')
        .list(ns, { labelSelector: 'app=agent' })
    ).items
    assert.deepEqual(revisions.map((r) => r.revision).sort(), [2, 3])
  })
})

/**
 * Kubelets in miniature: a pod bound to a node is reported Running and Ready, and a pod being
 * deleted is deleted for good (as a kubelet does once its containers stopped).
 */
function standInKubelets(pods: ResourceClient<Pod>): { stop(): Promise<void> } {
  const informer = new Informer(pods)
  const ac = new AbortController()
  const pending = new Set<Promise<void>>()
  const ignoreGone = (err: unknown) => {
    if (!isNotFound(err) && !isConflict(err)) throw err
  }
  const act = (pod: Readonly<Pod>) => {
    let p: Promise<unknown> | undefined
    if (pod.metadata?.deletionTimestamp) {
      p = pods.delete(pod.metadata.namespace ?? '', pod.metadata.name ?? '', { gracePeriodSeconds: 0 })
    } else if (pod.spec?.nodeName && (pod.status?.phase ?? 'Pending') === 'Pending') {
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
      p = pods.updateStatus({
        ...pod,
        status: {
          ...pod.status,
          phase: 'Running',
          startTime: now,
          conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({
            type,
            status: 'True',
            lastTransitionTime: now,
          })),
        },
      })
    }
    if (!p) return
    const done: Promise<void> = p.then(() => undefined, ignoreGone).finally(() => pending.delete(done))
    pending.add(done)
  }
  informer.addHandler({ add: act, update: (_old, pod) => act(pod) })
  const running = informer.run(ac.signal)
  return {
    async stop() {
      ac.abort()
      await running
      await Promise.allSettled(pending)
    },
  }
}
