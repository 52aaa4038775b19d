import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { humanDuration, labelSelector } from './cells.ts'
import { printerFor } from './index.ts'

const now = Date.parse('2026-11-22T12:00:00Z')
const ago = (seconds: number) => new Date(now - seconds * 1000).toISOString().replace('.000Z', 'Z')

function row(group: string, resource: string, o: Record<string, unknown>): unknown[] {
  const p = printerFor(group, resource)
  assert.ok(p, `a printer for ${group}/${resource}`)
  const cells = p.row(o, now)
  assert.equal(cells.length, p.columns.length, 'one cell per column')
  return cells
}

function columns(group: string, resource: string): string[] {
  return (printerFor(group, resource)?.columns ?? []).map((c) => (c.priority > 0 ? `(${c.name})` : c.name))
}

const meta = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  namespace: 'default',
  creationTimestamp: ago(330),
  ...extra,
})

test('ages read as kubectl prints them', () => {
  const cases: [number, string][] = [
    [-5, '<invalid>'],
    [0, '0s'],
    [119, '119s'],
    [125, '2m5s'],
    [600, '10m'],
    [3 * 3600 + 60, '3h1m'],
    [10 * 3600, '10h'],
    [50 * 3600, '2d2h'],
    [10 * 86400, '10d'],
    [800 * 86400, '2y70d'],
    [9 * 365 * 86400, '9y'],
  ]
  for (const [s, want] of cases) assert.equal(humanDuration(s * 1000), want, `${s}s`)
  assert.equal(
    labelSelector({
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'tier', operator: 'In', values: ['b', 'a'] }],
    }),
    'app=web,tier in (a,b)',
  )
  assert.equal(labelSelector({}), '<none>')
})

describe('pods', () => {
  const pod = (
    spec: Record<string, unknown>,
    status: Record<string, unknown>,
    m: Record<string, unknown> = {},
  ) => ({
    metadata: meta('p', m),
    spec: { containers: [{ name: 'a' }, { name: 'b' }], ...spec },
    status,
  })
  const running = { running: { startedAt: ago(300) } }

  test('columns, with the wide ones', () => {
    assert.deepEqual(columns('', 'pods'), [
      'Name',
      'Ready',
      'Status',
      'Restarts',
      'Age',
      '(IP)',
      '(Node)',
      '(Nominated Node)',
      '(Readiness Gates)',
    ])
  })

  test('a running pod, with restarts and when the last one was', () => {
    const p = pod(
      { nodeName: 'n1' },
      {
        phase: 'Running',
        podIPs: [{ ip: '10.244.0.5' }],
        containerStatuses: [
          { name: 'a', ready: true, state: running, restartCount: 0 },
          {
            name: 'b',
            ready: true,
            state: running,
            restartCount: 3,
            lastState: { terminated: { exitCode: 1, finishedAt: ago(300) } },
          },
        ],
      },
    )
    assert.deepEqual(row('', 'pods', p), [
      'p',
      '2/2',
      'Running',
      '3 (5m ago)',
      '5m30s',
      '10.244.0.5',
      'n1',
      '<none>',
      '<none>',
    ])
  })

  test('waiting and terminated reasons, exit codes and signals', () => {
    const crash = pod(
      {},
      {
        phase: 'Running',
        containerStatuses: [
          { name: 'a', state: { waiting: { reason: 'CrashLoopBackOff' } }, restartCount: 5 },
          { name: 'b', ready: true, state: running },
        ],
      },
    )
    assert.deepEqual(row('', 'pods', crash).slice(1, 4), ['1/2', 'CrashLoopBackOff', '5'])
    const exit = pod(
      {},
      {
        phase: 'Failed',
        containerStatuses: [
          { name: 'a', state: { terminated: { exitCode: 137, signal: 9 } } },
          { name: 'b', state: { terminated: { exitCode: 2 } } },
        ],
      },
    )
    assert.equal(row('', 'pods', exit)[2], 'Signal:9')
    const done = pod(
      {},
      {
        phase: 'Succeeded',
        containerStatuses: [{ name: 'a', state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
      },
    )
    assert.equal(row('', 'pods', done)[2], 'Completed')
    const pending = pod(
      {},
      {
        phase: 'Pending',
        containerStatuses: [{ name: 'a', state: { waiting: { reason: 'ContainerCreating' } } }],
      },
    )
    assert.equal(row('', 'pods', pending)[2], 'ContainerCreating')
  })

  test('init containers: progress, failures, and sidecars counted in READY', () => {
    const spec = { initContainers: [{ name: 'i1' }, { name: 'i2' }] }
    const progress = pod(spec, {
      phase: 'Pending',
      initContainerStatuses: [
        { name: 'i1', state: { terminated: { exitCode: 0 } } },
        { name: 'i2', state: running },
      ],
    })
    assert.equal(row('', 'pods', progress)[2], 'Init:1/2')
    const failing = pod(spec, {
      phase: 'Pending',
      initContainerStatuses: [
        { name: 'i1', state: { waiting: { reason: 'CrashLoopBackOff' } }, restartCount: 2 },
      ],
    })
    assert.deepEqual(row('', 'pods', failing).slice(2, 4), ['Init:CrashLoopBackOff', '2'])
    const exited = pod(spec, {
      phase: 'Pending',
      initContainerStatuses: [{ name: 'i1', state: { terminated: { exitCode: 3 } } }],
    })
    assert.equal(row('', 'pods', exited)[2], 'Init:ExitCode:3')
    const sidecar = pod(
      { initContainers: [{ name: 'proxy', restartPolicy: 'Always' }] },
      {
        phase: 'Running',
        conditions: [{ type: 'Initialized', status: 'True' }],
        initContainerStatuses: [{ name: 'proxy', started: true, ready: true, state: running }],
        containerStatuses: [
          { name: 'a', ready: true, state: running },
          { name: 'b', ready: false, state: running },
        ],
      },
    )
    assert.deepEqual(row('', 'pods', sidecar).slice(1, 3), ['2/3', 'Running'])
  })

  test('terminating, gated and readiness gates', () => {
    const deleting = pod({}, { phase: 'Running' }, { deletionTimestamp: ago(1) })
    assert.equal(row('', 'pods', deleting)[2], 'Terminating')
    const gated = pod(
      {},
      {
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }],
      },
    )
    assert.equal(row('', 'pods', gated)[2], 'SchedulingGated')
    const gates = pod(
      { readinessGates: [{ conditionType: 'x/a' }, { conditionType: 'x/b' }] },
      { phase: 'Running', conditions: [{ type: 'x/a', status: 'True' }] },
    )
    assert.equal(row('', 'pods', gates)[8], '1/2')
  })
})

describe('workloads', () => {
  const template = {
    metadata: { labels: { app: 'web' } },
    spec: {
      containers: [
        { name: 'web', image: 'nginx:1.27' },
        { name: 'log', image: 'busybox' },
      ],
    },
  }

  test('deployments, replica sets, stateful sets, daemon sets', () => {
    const spec = { replicas: 3, selector: { matchLabels: { app: 'web' } }, template }
    assert.deepEqual(
      row('apps', 'deployments', {
        metadata: meta('web'),
        spec,
        status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
      }),
      ['web', '2/3', 3, 2, '5m30s', 'web,log', 'nginx:1.27,busybox', 'app=web'],
    )
    assert.deepEqual(
      row('apps', 'replicasets', {
        metadata: meta('web-1'),
        spec,
        status: { replicas: 3, readyReplicas: 1 },
      }).slice(0, 4),
      ['web-1', 3, 3, 1],
    )
    assert.deepEqual(
      row('apps', 'statefulsets', { metadata: meta('db'), spec, status: { readyReplicas: 3 } }).slice(0, 3),
      ['db', '3/3', '5m30s'],
    )
    const ds = {
      metadata: meta('agent'),
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { ...template, spec: { ...template.spec, nodeSelector: { 'kubernetes.io/os': 'linux' } } },
      },
      status: {
        desiredNumberScheduled: 2,
        currentNumberScheduled: 2,
        numberReady: 1,
        updatedNumberScheduled: 2,
        numberAvailable: 1,
      },
    }
    assert.deepEqual(row('apps', 'daemonsets', ds).slice(0, 8), [
      'agent',
      2,
      2,
      1,
      2,
      1,
      'kubernetes.io/os=linux',
      '5m30s',
    ])
  })

  test('jobs: status, completions and duration', () => {
    const job = (spec: Record<string, unknown>, status: Record<string, unknown>) =>
      row('batch', 'jobs', { metadata: meta('j'), spec: { template, ...spec }, status })
    assert.deepEqual(job({ completions: 3 }, { succeeded: 1, startTime: ago(90) }).slice(0, 4), [
      'j',
      'Running',
      '1/3',
      '90s',
    ])
    assert.deepEqual(
      job(
        { completions: 1 },
        {
          succeeded: 1,
          startTime: ago(300),
          completionTime: ago(240),
          conditions: [{ type: 'Complete', status: 'True' }],
        },
      ).slice(1, 4),
      ['Complete', '1/1', '60s'],
    )
    assert.deepEqual(job({ parallelism: 4 }, {}).slice(1, 4), ['Running', '0/1 of 4', ''])
    assert.equal(job({}, { conditions: [{ type: 'Failed', status: 'True' }] })[1], 'Failed')
    assert.equal(
      job({ suspend: true }, { conditions: [{ type: 'Suspended', status: 'True' }] })[1],
      'Suspended',
    )
  })

  test('cron jobs', () => {
    const cj = {
      metadata: meta('backup'),
      spec: { schedule: '*/5 * * * *', suspend: false, jobTemplate: { spec: { template } } },
      status: { active: [{ name: 'x' }], lastScheduleTime: ago(60) },
    }
    assert.deepEqual(row('batch', 'cronjobs', cj).slice(0, 7), [
      'backup',
      '*/5 * * * *',
      '<none>',
      'False',
      1,
      '60s',
      '5m30s',
    ])
  })
})

describe('services and networking', () => {
  const svc = (spec: Record<string, unknown>, status: Record<string, unknown> = {}) =>
    row('', 'services', { metadata: meta('s'), spec, status })

  test('types, IPs and ports', () => {
    assert.deepEqual(
      svc({
        type: 'ClusterIP',
        clusterIP: '10.96.0.10',
        clusterIPs: ['10.96.0.10'],
        ports: [
          { port: 53, protocol: 'UDP' },
          { port: 53, protocol: 'TCP' },
        ],
        selector: { k8s: 'dns' },
      }),
      ['s', 'ClusterIP', '10.96.0.10', '<none>', '53/UDP,53/TCP', '5m30s', 'k8s=dns'],
    )
    assert.deepEqual(
      svc({
        type: 'NodePort',
        clusterIP: '10.96.0.11',
        ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }],
      }).slice(1, 5),
      ['NodePort', '10.96.0.11', '<none>', '80:30080/TCP'],
    )
    assert.equal(svc({ type: 'LoadBalancer', ports: [] })[3], '<pending>')
    assert.equal(
      svc({ type: 'LoadBalancer' }, { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } })[3],
      '192.0.2.1',
    )
    assert.deepEqual(svc({ type: 'ExternalName', externalName: 'example.com' }).slice(1, 5), [
      'ExternalName',
      '<none>',
      'example.com',
      '<none>',
    ])
    assert.equal(svc({ clusterIP: 'None', ports: [{ port: 80, protocol: 'TCP' }] })[2], 'None')
  })

  test('endpoints, slices and ingresses', () => {
    const ep = {
      metadata: meta('web'),
      subsets: [
        {
          addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: '10.0.0.3' }, { ip: '10.0.0.4' }],
          ports: [{ port: 80 }],
        },
      ],
    }
    assert.equal(row('', 'endpoints', ep)[1], '10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...')
    assert.equal(row('', 'endpoints', { metadata: meta('none') })[1], '<none>')
    const slice = {
      metadata: meta('web-abc'),
      addressType: 'IPv4',
      ports: [{ port: 80 }, { name: 'x' }],
      endpoints: [{ addresses: ['10.0.0.1'] }],
    }
    assert.deepEqual(row('discovery.k8s.io', 'endpointslices', slice).slice(0, 4), [
      'web-abc',
      'IPv4',
      '80,x',
      '10.0.0.1',
    ])
    assert.equal(
      row('discovery.k8s.io', 'endpointslices', { metadata: meta('e'), addressType: 'IPv4' })[2],
      '<unset>',
    )
    const ing = {
      metadata: meta('web'),
      spec: {
        ingressClassName: 'nginx',
        rules: [{ host: 'a.example.com' }, { host: 'b.example.com' }],
        tls: [{ hosts: ['a.example.com'] }],
      },
      status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } },
    }
    assert.deepEqual(row('networking.k8s.io', 'ingresses', ing).slice(0, 5), [
      'web',
      'nginx',
      'a.example.com,b.example.com',
      '192.0.2.1',
      '80, 443',
    ])
    assert.deepEqual(row('networking.k8s.io', 'ingresses', { metadata: meta('any'), spec: {} }).slice(1, 5), [
      '<none>',
      '*',
      '',
      '80',
    ])
  })
})

describe('nodes, events and the rest', () => {
  test('node status, roles and system info', () => {
    const node = {
      metadata: {
        name: 'n1',
        creationTimestamp: ago(86400 * 3),
        labels: { 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/worker': '' },
      },
      spec: { unschedulable: true },
      status: {
        conditions: [{ type: 'Ready', status: 'True' }],
        addresses: [{ type: 'InternalIP', address: '192.168.1.10' }],
        nodeInfo: {
          kubeletVersion: 'v1.35.0',
          osImage: 'Debian GNU/Linux 12 (bookworm)',
          kernelVersion: '6.1.0',
          containerRuntimeVersion: 'containerd://1.6.20',
        },
      },
    }
    assert.deepEqual(row('', 'nodes', node), [
      'n1',
      'Ready,SchedulingDisabled',
      'control-plane,worker',
      '3d',
      'v1.35.0',
      '192.168.1.10',
      '<none>',
      'Debian GNU/Linux 12 (bookworm)',
      '6.1.0',
      'containerd://1.6.20',
    ])
    assert.deepEqual(
      row('', 'nodes', {
        metadata: { name: 'n2' },
        status: { conditions: [{ type: 'Ready', status: 'Unknown' }] },
      }).slice(1, 3),
      ['NotReady', '<none>'],
    )
    assert.equal(row('', 'nodes', { metadata: { name: 'n3' } })[1], 'Unknown')
  })

  test('events in both groups print alike', () => {
    const core = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: meta('web.1'),
      involvedObject: { kind: 'Pod', name: 'web', fieldPath: 'spec.containers{web}' },
      reason: 'Pulled',
      message: 'Pulled image  ',
      type: 'Normal',
      source: { component: 'kubelet', host: 'n1' },
      firstTimestamp: ago(600),
      lastTimestamp: ago(60),
      count: 4,
    }
    assert.deepEqual(columns('', 'events'), [
      'Last Seen',
      'Type',
      'Reason',
      'Object',
      '(Subobject)',
      '(Source)',
      'Message',
      '(First Seen)',
      '(Count)',
      '(Name)',
    ])
    const want = [
      '60s',
      'Normal',
      'Pulled',
      'pod/web',
      'spec.containers{web}',
      'kubelet, n1',
      'Pulled image',
      '10m',
      4,
      'web.1',
    ]
    assert.deepEqual(row('', 'events', core), want)
    const modern = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: meta('web.1'),
      regarding: core.involvedObject,
      reason: 'Pulled',
      note: 'Pulled image  ',
      type: 'Normal',
      deprecatedSource: core.source,
      deprecatedFirstTimestamp: ago(600),
      deprecatedLastTimestamp: ago(60),
      deprecatedCount: 4,
    }
    assert.deepEqual(row('events.k8s.io', 'events', modern), want)
    const series = {
      metadata: meta('x'),
      involvedObject: { kind: 'Node' },
      eventTime: ago(120),
      series: { count: 7, lastObservedTime: ago(5) },
      reportingComponent: 'sched',
    }
    assert.deepEqual(row('', 'events', series).slice(0, 9), ['5s', '', '', 'node', '', 'sched', '', '2m', 7])
  })

  test('config, access, storage and autoscaling', () => {
    assert.deepEqual(
      row('', 'configmaps', {
        metadata: meta('c'),
        data: { a: '1', b: '2' },
        binaryData: { c: 'AA==' },
      }).slice(0, 2),
      ['c', 3],
    )
    assert.deepEqual(
      row('', 'secrets', { metadata: meta('s'), type: 'Opaque', data: { a: 'MQ==' } }).slice(0, 3),
      ['s', 'Opaque', 1],
    )
    assert.deepEqual(
      row('rbac.authorization.k8s.io', 'rolebindings', {
        metadata: meta('rb'),
        roleRef: { kind: 'ClusterRole', name: 'view' },
        subjects: [
          { kind: 'User', name: 'jane' },
          { kind: 'ServiceAccount', name: 'sa', namespace: 'ns' },
          { kind: 'Group', name: 'devs' },
        ],
      }),
      ['rb', 'ClusterRole/view', '5m30s', 'jane', 'devs', 'ns:sa'],
    )
    assert.deepEqual(
      row('policy', 'poddisruptionbudgets', {
        metadata: meta('pdb'),
        spec: { minAvailable: '50%' },
        status: { disruptionsAllowed: 1 },
      }).slice(0, 4),
      ['pdb', '50%', 'N/A', 1],
    )
    assert.deepEqual(
      row('', 'persistentvolumeclaims', {
        metadata: meta('data'),
        spec: { volumeName: 'pv1', storageClassName: 'local', volumeMode: 'Filesystem' },
        status: {
          phase: 'Bound',
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce', 'ReadOnlyMany'],
        },
      }),
      ['data', 'Bound', 'pv1', '1Gi', 'RWO,ROX', 'local', '<unset>', '5m30s', 'Filesystem'],
    )
    assert.equal(
      row('storage.k8s.io', 'storageclasses', {
        metadata: { name: 'local', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
        provisioner: 'x',
      })[0],
      'local (default)',
    )
    assert.deepEqual(
      row('', 'resourcequotas', {
        metadata: meta('q'),
        status: {
          hard: { 'limits.cpu': '2', 'requests.cpu': '1', pods: '10' },
          used: { 'requests.cpu': '500m', pods: '3' },
        },
      }).slice(1, 3),
      ['pods: 3/10, requests.cpu: 500m/1', 'limits.cpu: 0/2'],
    )
    const hpa2 = {
      apiVersion: 'autoscaling/v2',
      metadata: meta('web'),
      spec: {
        scaleTargetRef: { kind: 'Deployment', name: 'web' },
        minReplicas: 2,
        maxReplicas: 5,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
          },
        ],
      },
      status: {
        currentReplicas: 2,
        currentMetrics: [
          { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 45 } } },
        ],
      },
    }
    assert.deepEqual(row('autoscaling', 'horizontalpodautoscalers', hpa2), [
      'web',
      'Deployment/web',
      'cpu: 45%/80%',
      '2',
      5,
      2,
      '5m30s',
    ])
    const hpa1 = {
      apiVersion: 'autoscaling/v1',
      metadata: meta('web'),
      spec: {
        scaleTargetRef: { kind: 'Deployment', name: 'web' },
        maxReplicas: 5,
        targetCPUUtilizationPercentage: 70,
      },
      status: { currentReplicas: 1 },
    }
    assert.deepEqual(row('autoscaling', 'horizontalpodautoscalers', hpa1).slice(2, 4), [
      'cpu: <unknown>/70%',
      '<unset>',
    ])
    assert.deepEqual(
      row('', 'componentstatuses', {
        metadata: { name: 'scheduler' },
        conditions: [{ type: 'Healthy', status: 'False', error: 'refused' }],
      }),
      ['scheduler', 'Unhealthy', '', 'refused'],
    )
    assert.equal(
      row('certificates.k8s.io', 'certificatesigningrequests', {
        metadata: meta('csr'),
        spec: {
          signerName: 'kubernetes.io/kube-apiserver-client',
          username: 'jane',
          expirationSeconds: 86400,
        },
        status: { conditions: [{ type: 'Approved' }], certificate: 'Zm9v' },
      })
        .slice(2)
        .join('|'),
      'kubernetes.io/kube-apiserver-client|jane|24h|Approved,Issued',
    )
  })

  test('roles and kinds without a printer get the Name / Created At table', () => {
    assert.equal(printerFor('rbac.authorization.k8s.io', 'roles'), undefined)
    assert.equal(printerFor('apiextensions.k8s.io', 'customresourcedefinitions'), undefined)
  })
})
