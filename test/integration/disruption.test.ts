import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { DaemonSet, Deployment } from '../../src/api/generated/types/apps-v1.ts'
import type { Job } from '../../src/api/generated/types/batch-v1.ts'
import type { Event, Node, Pod } from '../../src/api/generated/types/core-v1.ts'
import type { Status } from '../../src/api/generated/types/meta-v1.ts'
import type { PodDisruptionBudget, PodDisruptionBudgetSpec } from '../../src/api/generated/types/policy-v1.ts'
import { startSimulation, type Simulation } from '../../src/cli/kubelet.ts'
import { Informer, loadKubeconfig, type ResourceClient } from '../../src/client/index.ts'
import { startScheduler, type RunningScheduler } from '../../src/scheduler/index.ts'
import { kubectlMissing, testLog } from '../support/cluster.ts'
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.ts'
import { until } from '../support/until.ts'

const deployment = (name: string, replicas: number, o: { nodeName?: string } = {}): Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default' },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        containers: [{ name: 'web', image: 'nginx' }],
        terminationGracePeriodSeconds: 1,
        ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      },
    },
  },
})

const budget = (
  name: string,
  spec: Omit<PodDisruptionBudgetSpec, 'selector'>,
  app = name,
): PodDisruptionBudget => ({
  apiVersion: 'policy/v1',
  kind: 'PodDisruptionBudget',
  metadata: { name, namespace: 'default' },
  spec: { selector: { matchLabels: { app } }, ...spec },
})

const bare = (name: string, app: string, o: { nodeName?: string } = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', labels: { app } },
  spec: {
    containers: [{ name: 'c', image: 'nginx' }],
    terminationGracePeriodSeconds: 1,
    ...(o.nodeName ? { nodeName: o.nodeName } : {}),
  },
})

/** The disruption controller and the eviction subresource, with pod readiness set by the test. */
describe('disruption budgets and evictions', () => {
  let cp: TestControlPlane
  let pods: ResourceClient<Pod>
  let pdbs: ResourceClient<PodDisruptionBudget>

  /** Reports a pod Running and Ready (or not), as its kubelet would. */
  const setReady = async (name: string, ready: boolean) => {
    const pod = await pods.get('default', name)
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
    await pods.updateStatus({
      ...pod,
      status: {
        ...pod.status,
        phase: 'Running',
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now }],
      },
    })
  }
  const evict = async (name: string, o: { deleteOptions?: object; query?: string } = {}) => {
    const r = await cp.api.request(
      'POST',
      `/api/v1/namespaces/default/pods/${name}/eviction${o.query ?? ''}`,
      {
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name, namespace: 'default' },
          ...(o.deleteOptions ? { deleteOptions: o.deleteOptions } : {}),
        }),
      },
    )
    return {
      code: r.code,
      retryAfter: r.headers['retry-after'],
      status: JSON.parse(r.body.toString()) as Status,
    }
  }
  const status = (
    name: string,
    want: (s: NonNullable<PodDisruptionBudget['status']>) => boolean,
    what: string,
  ) =>
    until(
      async () => {
        const b = await pdbs.get('default', name)
        const s = b.status
        return s && s.observedGeneration === b.metadata?.generation && want(s) ? b : undefined
      },
      15_000,
      what,
    )
  const podsOf = async (app: string) => (await pods.list('default', { labelSelector: `app=${app}` })).items
  const running = (p: Pod) => !p.metadata?.deletionTimestamp

  before(async () => {
    cp = await startTestControlPlane({
      controllers: ['replicaset', 'deployment', 'disruption'],
      leaderElect: false,
      readyPods: false,
    })
    pods = cp.client('', 'v1', 'pods')
    pdbs = cp.client('policy', 'v1', 'poddisruptionbudgets')
  })
  after(async () => {
    await cp.stop()
  })

  test('a budget over a Deployment counts its scale and ready pods; evictions take from it and 429 when it is spent', async () => {
    // Bound to a node no kubelet runs, so that deleted pods stay terminating.
    await cp.client<Deployment>('apps', 'v1', 'deployments').create(deployment('web', 3, { nodeName: 'n1' }))
    await pdbs.create(budget('web', { maxUnavailable: 1 }))
    const created = await until(
      async () => ((await podsOf('web')).length === 3 ? podsOf('web') : undefined),
      15_000,
      '3 pods',
    )
    // Pods not yet ready: the Deployment's scale is expected, none is healthy.
    await status(
      'web',
      (s) => s.expectedPods === 3 && s.desiredHealthy === 2 && s.currentHealthy === 0,
      'expected 3, none healthy',
    )
    for (const p of created) await setReady(p.metadata?.name ?? '', true)
    const b = await status('web', (s) => s.currentHealthy === 3, '3 healthy')
    assert.equal(b.status?.disruptionsAllowed, 1)
    assert.deepEqual(
      b.status?.conditions?.map((c) => [c.type, c.status, c.reason]),
      [['DisruptionAllowed', 'True', 'SufficientPods']],
    )
    const table = await cp.api.kubectl(['get', 'pdb', 'web', '--no-headers'])
    assert.match(table.stdout, /^web\s+N\/A\s+1\s+1\s/)
    const described = (await cp.api.kubectl(['describe', 'pdb', 'web'])).stdout
    for (const line of [
      /Max unavailable:\s+1\n/,
      /Allowed disruptions:\s+1\n/,
      /Current:\s+3\n/,
      /Desired:\s+2\n/,
      /Total:\s+3\n/,
    ])
      assert.match(described, line)

    // A dry run answers yes and changes nothing.
    const [p0, p1] = created.map((p) => p.metadata?.name ?? '')
    assert.equal((await evict(p0 ?? '', { query: '?dryRun=All' })).code, 201)
    assert.equal((await pods.get('default', p0 ?? '')).metadata?.deletionTimestamp, undefined)
    assert.equal((await pdbs.get('default', 'web')).status?.disruptionsAllowed, 1)

    // The eviction: the budget goes to 0 with the pod in disruptedPods, in one write.
    const ac = new AbortController()
    const seen: PodDisruptionBudget[] = []
    const watching = (async () => {
      try {
        for await (const e of pdbs.watch('default', {
          fieldSelector: 'metadata.name=web',
          resourceVersion: b.metadata?.resourceVersion ?? '',
          signal: ac.signal,
        }))
          if (e.type === 'MODIFIED') seen.push(e.object)
      } catch {
        // aborted
      }
    })()
    try {
      const ok = await evict(p0 ?? '', { deleteOptions: { gracePeriodSeconds: 30 } })
      assert.equal(ok.code, 201)
      assert.equal(ok.status.status, 'Success')
      const evicted = await pods.get('default', p0 ?? '')
      assert.ok(evicted.metadata?.deletionTimestamp)
      assert.equal(evicted.metadata?.deletionGracePeriodSeconds, 30)
      assert.deepEqual(
        evicted.status?.conditions
          ?.filter((c) => c.type === 'DisruptionTarget')
          .map((c) => [c.status, c.reason, c.message]),
        [['True', 'EvictionByEvictionAPI', 'Eviction API: evicting']],
      )
      const taken = await until(
        () => seen.find((x) => x.status?.disruptedPods?.[p0 ?? ''] !== undefined),
        5000,
        'the eviction write',
      )
      assert.equal(taken.status?.disruptionsAllowed, 0)
      assert.equal(taken.status?.conditions?.[0]?.reason, 'InsufficientPods')
    } finally {
      ac.abort()
      await watching
    }

    // The controller now sees 2 healthy of the 2 wanted: the next eviction is refused.
    await status(
      'web',
      (s) => s.currentHealthy === 2 && s.disruptedPods === undefined,
      'the evicted pod no longer healthy',
    )
    const refused = await evict(p1 ?? '')
    assert.equal(refused.code, 429)
    assert.equal(refused.retryAfter, undefined)
    assert.equal(refused.status.reason, 'TooManyRequests')
    assert.equal(refused.status.message, "Cannot evict pod as it would violate the pod's disruption budget.")
    assert.deepEqual(refused.status.details?.causes, [
      {
        reason: 'DisruptionBudget',
        message: 'The disruption budget web needs 2 healthy pods and has 2 currently',
      },
    ])

    // A replacement becomes ready: one disruption is allowed again.
    const replacement = await until(
      async () =>
        (await podsOf('web')).find(
          (p) => running(p) && !created.some((c) => c.metadata?.uid === p.metadata?.uid),
        ),
      15_000,
      'a replacement pod',
    )
    await setReady(replacement.metadata?.name ?? '', true)
    await status('web', (s) => s.disruptionsAllowed === 1, 'one disruption allowed again')
    assert.equal((await evict(p1 ?? '')).code, 201)
  })

  test('unready pods: IfHealthyBudget lets them go only while the budget is healthy, AlwaysAllow always', async () => {
    for (const n of ['s1', 's2']) await pods.create(bare(n, 'solo'))
    await setReady('s1', true)
    await setReady('s2', false)
    await pdbs.create(budget('solo', { minAvailable: 1 }))
    await status(
      'solo',
      (s) => s.currentHealthy === 1 && s.desiredHealthy === 1 && s.expectedPods === 2,
      'solo synced',
    )
    assert.equal((await evict('s2')).code, 201, 'the budget has its healthy pod: the unready one may go')

    for (const n of ['t1', 't2']) await pods.create(bare(n, 'pair'))
    await setReady('t1', true)
    await setReady('t2', false)
    await pdbs.create(budget('pair', { minAvailable: 2 }))
    await status('pair', (s) => s.currentHealthy === 1 && s.desiredHealthy === 2, 'pair synced')
    const refused = await evict('t2')
    assert.equal(refused.code, 429)
    assert.equal(
      refused.status.details?.causes?.[0]?.message,
      'The disruption budget pair needs 2 healthy pods and has 1 currently',
    )
    await pdbs.patch('default', 'pair', 'merge', { spec: { unhealthyPodEvictionPolicy: 'AlwaysAllow' } })
    await status('pair', (s) => s.currentHealthy === 1, 'pair synced again')
    assert.equal((await evict('t2')).code, 201)
    assert.equal((await evict('t1')).code, 429, 'a ready pod still needs the budget')
  })

  test('a pending pod goes without a budget; a pod under two budgets is a 500', async () => {
    await pods.create(bare('p1', 'pending'))
    await pdbs.create(budget('pending', { minAvailable: 5 }))
    const stale = await evict('p1', { deleteOptions: { preconditions: { uid: 'not-its-uid' } } })
    assert.equal(stale.code, 409, 'deleteOptions preconditions hold')
    assert.equal((await evict('p1')).code, 201)

    await pods.create(bare('d1', 'double'))
    await setReady('d1', true)
    await pdbs.create(budget('double-a', { maxUnavailable: 1 }, 'double'))
    await pdbs.create(budget('double-b', { minAvailable: 0 }, 'double'))
    const two = await evict('d1')
    assert.equal(two.code, 500)
    assert.equal(
      two.status.message,
      'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
    )
    await pdbs.delete('default', 'double-a')
    await status('double-b', (s) => s.disruptionsAllowed === 1, 'double-b allowing one')
  })

  test('pods of a controller without a scale subresource fail the budget safe, with an event saying why', async () => {
    const job = await cp.client<Job>('batch', 'v1', 'jobs').create({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'batch', namespace: 'default' },
      spec: {
        template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } },
      },
    })
    const owned = bare('batch-0', 'batch')
    owned.metadata = {
      ...owned.metadata,
      ownerReferences: [
        {
          apiVersion: 'batch/v1',
          kind: 'Job',
          name: 'batch',
          uid: job.metadata?.uid ?? '',
          controller: true,
        },
      ],
    }
    await pods.create(owned)
    await setReady('batch-0', true)
    await pdbs.create(budget('batch', { maxUnavailable: '50%' }))
    const failed = await until(
      async () => {
        const c = (await pdbs.get('default', 'batch')).status?.conditions?.[0]
        return c?.reason === 'SyncFailed' ? c : undefined
      },
      15_000,
      'SyncFailed',
    )
    assert.equal(failed.status, 'False')
    assert.equal(failed.message, 'jobs.batch does not implement the scale subresource')
    const events = await until(
      async () =>
        (await cp.client<Event>('', 'v1', 'events').list('default')).items.filter(
          (e) => e.involvedObject.name === 'batch' && e.reason === 'CalculateExpectedPodCountFailed',
        )[0],
      15_000,
      'the CalculateExpectedPodCountFailed event',
    )
    assert.equal(
      events.message,
      'Failed to calculate the number of expected pods: jobs.batch does not implement the scale subresource',
    )
    assert.equal(events.source?.component, 'controllermanager')
    assert.equal((await evict('batch-0')).code, 429, 'a failed budget allows nothing')
  })

  test('with its controller stopped, a changed budget answers 429 and one with 2001 unconfirmed evictions 403', async () => {
    // Stopped, the controller cannot catch up with the change (cp.stop() stops it again, harmlessly).
    await cp.manager.stop()
    await pdbs.patch('default', 'double-b', 'merge', { spec: { minAvailable: 1 } })
    const r = await evict('d1')
    assert.equal(r.code, 429)
    assert.equal(r.retryAfter, '10')
    assert.deepEqual(r.status.details?.causes, [
      {
        reason: 'DisruptionBudget',
        message: 'The disruption budget double-b is still being processed by the server.',
      },
    ])

    // Evictions the controller never confirmed piling up: the budget refuses more.
    const b = await pdbs.get('default', 'double-b')
    const piled = Object.fromEntries(
      Array.from({ length: 2001 }, (_, i) => [`gone-${i}`, new Date().toISOString().replace(/\.\d+Z$/, 'Z')]),
    )
    await pdbs.updateStatus({
      ...b,
      status: {
        ...b.status,
        observedGeneration: b.metadata?.generation ?? 0,
        currentHealthy: 1,
        desiredHealthy: 0,
        expectedPods: 1,
        disruptionsAllowed: 1,
        disruptedPods: piled,
      },
    })
    const full = await evict('d1')
    assert.equal(full.code, 403)
    assert.equal(
      full.status.message,
      'poddisruptionbudget.policy "double-b" is forbidden: DisruptedPods map too big - too many evictions not confirmed by PDB controller',
    )
  })
})

/**
 * kubectl drain on simulated nodes: the scheduler places pods, fake kubelets run and stop them,
 * the disruption controller keeps the budget, and kubectl evicts through it.
 */
describe('kubectl drain', { skip: kubectlMissing ?? false }, () => {
  let cp: TestControlPlane
  let scheduler: RunningScheduler
  let sim: Simulation
  let pods: ResourceClient<Pod>
  let nodes: ResourceClient<Node>

  before(async () => {
    cp = await startTestControlPlane({
      controllers: ['replicaset', 'deployment', 'disruption'],
      leaderElect: false,
      readyPods: false,
    })
    pods = cp.client('', 'v1', 'pods')
    nodes = cp.client('', 'v1', 'nodes')
    sim = startSimulation({
      client: loadKubeconfig(cp.api.server.adminKubeconfig),
      nodes: 2,
      namePrefix: 'drain-',
      log: testLog,
    })
    scheduler = startScheduler({
      client: loadKubeconfig(cp.api.server.schedulerKubeconfig),
      leaderElect: false,
      log: testLog,
    })
    await until(
      async () => {
        const items = (await nodes.list('')).items
        return (
          items.length === 2 &&
          items.every((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        )
      },
      20_000,
      'two Ready nodes',
    )
  })
  after(async () => {
    await scheduler.stop()
    await sim.stop()
    await cp.stop()
  })

  test('drain cordons, evicts one budgeted pod at a time, skips DaemonSet pods and refuses bare ones without --force', async () => {
    // Every pod of the Deployment lands on drain-0: drain-1 is cordoned until they run.
    await nodes.patch('', 'drain-1', 'strategic', { spec: { unschedulable: true } })
    await cp.client<Deployment>('apps', 'v1', 'deployments').create(deployment('web', 3))
    await cp
      .client<PodDisruptionBudget>('policy', 'v1', 'poddisruptionbudgets')
      .create(budget('web', { maxUnavailable: 1 }))
    const ready = (p: Pod) =>
      !p.metadata?.deletionTimestamp &&
      p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
    await until(
      async () => {
        const items = (await pods.list('default', { labelSelector: 'app=web' })).items
        return items.length === 3 && items.every((p) => p.spec?.nodeName === 'drain-0' && ready(p))
      },
      20_000,
      '3 ready pods on drain-0',
    )
    await cp
      .client<PodDisruptionBudget>('policy', 'v1', 'poddisruptionbudgets')
      .get('default', 'web')
      .then(async () =>
        until(
          async () =>
            (
              await cp
                .client<PodDisruptionBudget>('policy', 'v1', 'poddisruptionbudgets')
                .get('default', 'web')
            ).status?.disruptionsAllowed === 1,
          15_000,
          'the budget allowing one disruption',
        ),
      )
    await nodes.patch('', 'drain-1', 'strategic', { spec: { unschedulable: null } })

    // A DaemonSet's pod and a bare pod on drain-0 as well.
    const ds = await cp.client<DaemonSet>('apps', 'v1', 'daemonsets').create({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', namespace: 'default' },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: {
          metadata: { labels: { app: 'agent' } },
          spec: { containers: [{ name: 'a', image: 'agent' }] },
        },
      },
    })
    await pods.create({
      ...bare('agent-x', 'agent', { nodeName: 'drain-0' }),
      metadata: {
        name: 'agent-x',
        namespace: 'default',
        labels: { app: 'agent' },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'DaemonSet',
            name: 'agent',
            uid: ds.metadata?.uid ?? '',
            controller: true,
          },
        ],
      },
    })
    await pods.create(bare('loner', 'loner', { nodeName: 'drain-0' }))

    // A server-side dry run goes through the evictions and changes nothing.
    const dry = await cp.api.kubectl([
      'drain',
      'drain-0',
      '--ignore-daemonsets',
      '--force',
      '--dry-run=server',
    ])
    assert.equal(dry.code, 0, dry.stderr)
    assert.equal(dry.stdout.match(/evicting pod default\/web-\S+ \(server dry run\)/g)?.length, 3)
    assert.match(dry.stdout, /node\/drain-0 drained \(server dry run\)/)
    assert.equal((await nodes.get('', 'drain-0')).spec?.unschedulable, undefined)
    assert.ok(
      (await pods.list('default', { labelSelector: 'app=web' })).items.every(
        (p) => !p.metadata?.deletionTimestamp,
      ),
    )

    // Without --force the bare pod stops the drain (after the cordon).
    const refused = await cp.api.kubectl(['drain', 'drain-0', '--ignore-daemonsets', '--timeout=60s'])
    assert.notEqual(refused.code, 0)
    assert.match(
      refused.stderr,
      /cannot delete Pods that declare no controller \(use --force to override\): default\/loner/,
    )
    assert.equal((await nodes.get('', 'drain-0')).spec?.unschedulable, true)

    // Watch the Deployment's pods while it drains: never fewer than 2 healthy.
    const informer = new Informer(pods, { namespace: 'default', labelSelector: 'app=web' })
    const ac = new AbortController()
    let minHealthy = Infinity
    const evictedAt = new Map<string, number>()
    let synced = false
    const look = () => {
      if (!synced) return
      const items = informer.lister.list('default')
      minHealthy = Math.min(minHealthy, items.filter((p) => ready(p as Pod)).length)
      for (const p of items)
        if (p.metadata?.deletionTimestamp && !evictedAt.has(p.metadata.name ?? ''))
          evictedAt.set(p.metadata.name ?? '', Date.now())
    }
    informer.addHandler({ add: look, update: look, delete: look })
    const watching = informer.run(ac.signal)
    await informer.waitForSync(ac.signal)
    synced = true
    look()

    let drained
    try {
      drained = await cp.api.kubectl(['drain', 'drain-0', '--ignore-daemonsets', '--force', '--timeout=90s'])
    } finally {
      ac.abort()
      await watching
    }
    assert.equal(drained.code, 0, drained.stderr)
    // One warning line, its parts in no fixed order.
    assert.match(drained.stderr, /Warning: .*ignoring DaemonSet-managed Pods: default\/agent-x/)
    assert.match(drained.stderr, /Warning: .*deleting Pods that declare no controller: default\/loner/)
    // The budget held the second and third evictions back until replacements were ready.
    assert.match(
      drained.stderr,
      /error when evicting pods\/"web-[a-z0-9-]+" -n "default" \(will retry after 5s\): Cannot evict pod as it would violate the pod's disruption budget\./,
    )
    assert.match(drained.stdout, /node\/drain-0 drained/)
    assert.ok(minHealthy >= 2, `healthy pods went down to ${minHealthy}`)
    const times = [...evictedAt.values()].sort((a, b) => a - b)
    assert.equal(times.length, 3)
    for (let i = 1; i < times.length; i++)
      assert.ok((times[i] ?? 0) - (times[i - 1] ?? 0) >= 1000, `evictions ${i} and ${i + 1} came together`)

    const node = await nodes.get('', 'drain-0')
    assert.equal(node.spec?.unschedulable, true)
    const left = (await pods.list('', { fieldSelector: 'spec.nodeName=drain-0' })).items
    assert.deepEqual(
      left.map((p) => p.metadata?.name),
      ['agent-x'],
    )
    const web = (await pods.list('default', { labelSelector: 'app=web' })).items
    assert.equal(web.length, 3)
    assert.ok(web.every((p) => p.spec?.nodeName === 'drain-1' && ready(p)))
  })
})
