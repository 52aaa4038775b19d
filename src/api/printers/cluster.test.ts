import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ago, columns, meta, row, types } from './testing.ts'

type O = Record<string, unknown>

describe('nodes and namespaces', () => {
  const node = (labels: O, spec: O, status: O) =>
    row('', 'nodes', {
      metadata: { name: 'n1', creationTimestamp: ago(86_400 * 3 + 7200), labels },
      spec,
      status,
    })
  const info = {
    kubeletVersion: 'v1.35.0',
    osImage: 'Debian GNU/Linux 12 (bookworm)',
    kernelVersion: '6.1.0-27-amd64',
    containerRuntimeVersion: 'containerd://1.7.22',
  }

  test('columns', () => {
    assert.deepEqual(columns('', 'nodes'), [
      'Name',
      'Status',
      'Roles',
      'Age',
      'Version',
      '(Internal-IP)',
      '(External-IP)',
      '(OS-Image)',
      '(Kernel-Version)',
      '(Container-Runtime)',
    ])
  })

  test('a ready control plane node, cordoned', () => {
    const cells = node(
      {
        'node-role.kubernetes.io/control-plane': '',
        'node-role.kubernetes.io/etcd': 'true',
        'kubernetes.io/hostname': 'n1',
      },
      { unschedulable: true },
      {
        conditions: [
          { type: 'MemoryPressure', status: 'False' },
          { type: 'Ready', status: 'True' },
        ],
        addresses: [
          { type: 'Hostname', address: 'n1' },
          { type: 'InternalIP', address: '192.168.1.10' },
          { type: 'InternalIP', address: 'fd00::10' },
          { type: 'ExternalIP', address: '203.0.113.10' },
        ],
        nodeInfo: info,
      },
    )
    assert.deepEqual(cells, [
      'n1',
      'Ready,SchedulingDisabled',
      'control-plane,etcd',
      '3d2h',
      'v1.35.0',
      '192.168.1.10',
      '203.0.113.10',
      'Debian GNU/Linux 12 (bookworm)',
      '6.1.0-27-amd64',
      'containerd://1.7.22',
    ])
  })

  test('not ready, unknown, and roles from the kubernetes.io/role label', () => {
    const status = (conditions: O[]) => node({}, {}, { conditions })[1]
    assert.equal(status([{ type: 'Ready', status: 'False' }]), 'NotReady')
    assert.equal(status([{ type: 'Ready', status: 'Unknown' }]), 'NotReady')
    assert.equal(status([{ type: 'DiskPressure', status: 'True' }]), 'Unknown')
    assert.equal(node({}, { unschedulable: true }, {})[1], 'Unknown,SchedulingDisabled')
    const roles = node(
      { 'kubernetes.io/role': 'worker', 'node-role.kubernetes.io/gpu': '', 'node-role.kubernetes.io/': '' },
      {},
      {},
    )
    assert.equal(roles[2], 'gpu,worker')
    assert.deepEqual(node({}, {}, {}).slice(2), [
      '<none>',
      '3d2h',
      '',
      '<none>',
      '<none>',
      '<unknown>',
      '<unknown>',
      '<unknown>',
    ])
  })

  test('namespaces', () => {
    assert.deepEqual(columns('', 'namespaces'), ['Name', 'Status', 'Age'])
    assert.deepEqual(row('', 'namespaces', { metadata: meta('shop'), status: { phase: 'Active' } }), [
      'shop',
      'Active',
      '5m30s',
    ])
    assert.equal(
      row('', 'namespaces', { metadata: meta('old'), status: { phase: 'Terminating' } })[1],
      'Terminating',
    )
  })
})

describe('events', () => {
  const core = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: meta('web-0.17f2a3b4c5d6e7f8'),
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'web-0', fieldPath: 'spec.containers{web}' },
    reason: 'BackOff',
    message: 'Back-off restarting failed container web in pod web-0_default(uid)\n',
    type: 'Warning',
    source: { component: 'kubelet', host: 'n1' },
    firstTimestamp: ago(900),
    lastTimestamp: ago(45),
    count: 12,
  }
  const wanted = [
    '45s',
    'Warning',
    'BackOff',
    'pod/web-0',
    'spec.containers{web}',
    'kubelet, n1',
    'Back-off restarting failed container web in pod web-0_default(uid)',
    '15m',
    12,
    'web-0.17f2a3b4c5d6e7f8',
  ]

  test('columns: the name comes last, and only wide', () => {
    const cols = [
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
    ]
    assert.deepEqual(columns('', 'events'), cols)
    assert.deepEqual(columns('events.k8s.io', 'events'), cols)
  })

  test('a core event', () => {
    assert.deepEqual(row('', 'events', core), wanted)
  })

  test('an events.k8s.io event prints as the core event it is', () => {
    const modern = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: core.metadata,
      regarding: core.involvedObject,
      reason: core.reason,
      note: core.message,
      type: core.type,
      deprecatedSource: core.source,
      deprecatedFirstTimestamp: core.firstTimestamp,
      deprecatedLastTimestamp: core.lastTimestamp,
      deprecatedCount: core.count,
    }
    assert.deepEqual(row('events.k8s.io', 'events', modern), wanted)
  })

  test('series, event times, reporting controllers and singletons', () => {
    const series = {
      metadata: meta('n1.abc'),
      involvedObject: { kind: 'Node', name: 'n1' },
      reason: 'Rebooted',
      type: 'Warning',
      eventTime: '2026-11-22T11:58:00.000000Z',
      series: { count: 7, lastObservedTime: '2026-11-22T11:59:55.123456Z' },
      reportingComponent: 'kubelet',
      reportingInstance: 'n1',
    }
    assert.deepEqual(row('', 'events', series).slice(0, 9), [
      '4s',
      'Warning',
      'Rebooted',
      'node/n1',
      '',
      'kubelet, n1',
      '',
      '2m',
      7,
    ])
    const single = {
      metadata: meta('x'),
      involvedObject: { kind: 'ClusterRole' },
      reason: 'Created',
      type: 'Normal',
      eventTime: ago(30),
      reportingComponent: 'controller-manager',
    }
    assert.deepEqual(row('', 'events', single).slice(0, 9), [
      '30s',
      'Normal',
      'Created',
      'clusterrole',
      '',
      'controller-manager',
      '',
      '30s',
      1,
    ])
    assert.deepEqual(row('', 'events', { metadata: meta('bare') }).slice(0, 9), [
      '<unknown>',
      '',
      '',
      '',
      '',
      '',
      '',
      '<unknown>',
      1,
    ])
  })
})

describe('configuration and access', () => {
  test('config maps, secrets and service accounts count their entries', () => {
    assert.deepEqual(columns('', 'configmaps'), ['Name', 'Data', 'Age'])
    assert.deepEqual(
      row('', 'configmaps', { metadata: meta('cfg'), data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } }),
      ['cfg', 3, '5m30s'],
    )
    assert.deepEqual(columns('', 'secrets'), ['Name', 'Type', 'Data', 'Age'])
    assert.deepEqual(
      row('', 'secrets', {
        metadata: meta('tls'),
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': 'eA==', 'tls.key': 'eQ==' },
      }),
      ['tls', 'kubernetes.io/tls', 2, '5m30s'],
    )
    assert.deepEqual(row('', 'secrets', { metadata: meta('empty'), type: 'Opaque' }).slice(1, 3), [
      'Opaque',
      0,
    ])
    assert.deepEqual(columns('', 'serviceaccounts'), ['Name', 'Secrets', 'Age'])
    assert.deepEqual(row('', 'serviceaccounts', { metadata: meta('default') }), ['default', 0, '5m30s'])
    assert.equal(row('', 'serviceaccounts', { metadata: meta('ci'), secrets: [{ name: 'ci-token' }] })[1], 1)
  })

  test('resource quotas: used/hard of each resource, limits apart, quantities canonical', () => {
    assert.deepEqual(columns('', 'resourcequotas'), ['Name', 'Request', 'Limit', 'Age'])
    const q = {
      metadata: meta('compute'),
      spec: { hard: {} },
      status: {
        hard: {
          'requests.memory': '1024Mi',
          'limits.memory': '2Gi',
          'requests.cpu': '1000m',
          pods: '10',
          'limits.cpu': '2',
        },
        used: { 'requests.memory': '512Mi', 'requests.cpu': '0.5', pods: '3', 'limits.cpu': '1500m' },
      },
    }
    assert.deepEqual(row('', 'resourcequotas', q), [
      'compute',
      'pods: 3/10, requests.cpu: 500m/1, requests.memory: 512Mi/1Gi',
      'limits.cpu: 1500m/2, limits.memory: 0/2Gi',
      '5m30s',
    ])
    assert.deepEqual(row('', 'resourcequotas', { metadata: meta('new') }).slice(1, 3), ['', ''])
  })

  test('role bindings and cluster role bindings', () => {
    const cols = ['Name', 'Role', 'Age', '(Users)', '(Groups)', '(ServiceAccounts)']
    assert.deepEqual(columns('rbac.authorization.k8s.io', 'rolebindings'), cols)
    assert.deepEqual(columns('rbac.authorization.k8s.io', 'clusterrolebindings'), cols)
    const subjects = [
      { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'jane' },
      { kind: 'ServiceAccount', name: 'deployer', namespace: 'ci' },
      { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'devs' },
      { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'joe' },
      { kind: 'ServiceAccount', name: 'default', namespace: 'kube-system' },
    ]
    assert.deepEqual(
      row('rbac.authorization.k8s.io', 'rolebindings', {
        metadata: meta('edit'),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
        subjects,
      }),
      ['edit', 'ClusterRole/edit', '5m30s', 'jane, joe', 'devs', 'ci/deployer, kube-system/default'],
    )
    assert.deepEqual(
      row('rbac.authorization.k8s.io', 'clusterrolebindings', {
        metadata: { name: 'system:basic-user', creationTimestamp: ago(60) },
        roleRef: { kind: 'ClusterRole', name: 'system:basic-user' },
      }),
      ['system:basic-user', 'ClusterRole/system:basic-user', '60s', '', '', ''],
    )
  })

  test('certificate signing requests', () => {
    assert.deepEqual(columns('certificates.k8s.io', 'certificatesigningrequests'), [
      'Name',
      'Age',
      'SignerName',
      'Requestor',
      'RequestedDuration',
      'Condition',
    ])
    const csr = (spec: O, status: O) =>
      row('certificates.k8s.io', 'certificatesigningrequests', { metadata: meta('csr-x'), spec, status })
    assert.deepEqual(
      csr(
        { signerName: 'kubernetes.io/kube-apiserver-client', username: 'jane', expirationSeconds: 86_400 },
        { conditions: [{ type: 'Approved', status: 'True' }], certificate: 'Zm9v' },
      ),
      ['csr-x', '5m30s', 'kubernetes.io/kube-apiserver-client', 'jane', '24h', 'Approved,Issued'],
    )
    assert.deepEqual(csr({ username: 'system:node:n1' }, {}).slice(2), [
      '<none>',
      'system:node:n1',
      '<none>',
      'Pending',
    ])
    assert.equal(
      csr(
        { expirationSeconds: 600 },
        { conditions: [{ type: 'Approved' }, { type: 'Denied' }, { type: 'Failed' }] },
      )[5],
      'Denied,Failed',
    )
  })

  test('leases, priority classes and runtime classes', () => {
    assert.deepEqual(
      row('coordination.k8s.io', 'leases', {
        metadata: meta('kube-scheduler'),
        spec: { holderIdentity: 'cp1_4f2a' },
      }),
      ['kube-scheduler', 'cp1_4f2a', '5m30s'],
    )
    assert.equal(row('coordination.k8s.io', 'leases', { metadata: meta('free'), spec: {} })[1], '')
    assert.deepEqual(columns('scheduling.k8s.io', 'priorityclasses'), [
      'Name',
      'Value',
      'Global-Default',
      'Age',
      'PreemptionPolicy',
    ])
    assert.deepEqual(types('scheduling.k8s.io', 'priorityclasses'), [
      'string',
      'integer',
      'boolean',
      'string',
      'string',
    ])
    assert.deepEqual(
      row('scheduling.k8s.io', 'priorityclasses', {
        metadata: { name: 'system-node-critical', creationTimestamp: ago(7200) },
        value: 2000001000,
        preemptionPolicy: 'PreemptLowerPriority',
      }),
      ['system-node-critical', 2000001000, false, '120m', 'PreemptLowerPriority'],
    )
    assert.deepEqual(
      row('scheduling.k8s.io', 'priorityclasses', {
        metadata: meta('high'),
        value: 1000,
        globalDefault: true,
      }).slice(1),
      [1000, true, '5m30s', ''],
    )
    assert.deepEqual(row('node.k8s.io', 'runtimeclasses', { metadata: meta('gvisor'), handler: 'runsc' }), [
      'gvisor',
      'runsc',
      '5m30s',
    ])
  })

  test('component statuses', () => {
    assert.deepEqual(columns('', 'componentstatuses'), ['Name', 'Status', 'Message', 'Error'])
    const cs = (conditions: O[]) => row('', 'componentstatuses', { metadata: { name: 'etcd-0' }, conditions })
    assert.deepEqual(cs([{ type: 'Healthy', status: 'True', message: 'ok' }]), [
      'etcd-0',
      'Healthy',
      'ok',
      '',
    ])
    assert.deepEqual(cs([{ type: 'Healthy', status: 'False', error: 'connection refused' }]), [
      'etcd-0',
      'Unhealthy',
      '',
      'connection refused',
    ])
    assert.deepEqual(cs([]), ['etcd-0', 'Unknown', '', ''])
  })
})

describe('admission and flow control', () => {
  test('webhook configurations count their webhooks', () => {
    for (const r of ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations']) {
      assert.deepEqual(columns('admissionregistration.k8s.io', r), ['Name', 'Webhooks', 'Age'])
      assert.deepEqual(
        row('admissionregistration.k8s.io', r, {
          metadata: meta('policy'),
          webhooks: [{ name: 'a.example.com' }, { name: 'b.example.com' }],
        }),
        ['policy', 2, '5m30s'],
      )
    }
  })

  test('admission policies and their bindings', () => {
    const g = 'admissionregistration.k8s.io'
    assert.deepEqual(columns(g, 'validatingadmissionpolicies'), ['Name', 'Validations', 'ParamKind', 'Age'])
    assert.deepEqual(columns(g, 'mutatingadmissionpolicies'), ['Name', 'Mutations', 'ParamKind', 'Age'])
    assert.deepEqual(
      row(g, 'validatingadmissionpolicies', {
        metadata: meta('replicas'),
        spec: {
          paramKind: { apiVersion: 'rules.example.com/v1', kind: 'ReplicaLimit' },
          validations: [{ expression: 'object.spec.replicas <= params.maxReplicas' }],
        },
      }),
      ['replicas', 1, 'rules.example.com/v1/ReplicaLimit', '5m30s'],
    )
    assert.deepEqual(
      row(g, 'mutatingadmissionpolicies', { metadata: meta('sidecar'), spec: { mutations: [{}, {}] } }),
      ['sidecar', 2, '<unset>', '5m30s'],
    )
    assert.deepEqual(columns(g, 'validatingadmissionpolicybindings'), [
      'Name',
      'PolicyName',
      'ParamRef',
      'Age',
    ])
    const binding = (paramRef?: O) =>
      row(g, 'validatingadmissionpolicybindings', {
        metadata: meta('replicas-test'),
        spec: { policyName: 'replicas', paramRef, validationActions: ['Deny'] },
      })
    assert.deepEqual(binding({ name: 'limits', namespace: 'test' }), [
      'replicas-test',
      'replicas',
      'test/limits',
      '5m30s',
    ])
    assert.equal(binding({ name: 'limits' })[2], '*/limits')
    assert.equal(binding()[2], '<unset>')
    assert.equal(
      binding({
        selector: {
          matchLabels: { env: 'test', app: 'x' },
          matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }],
        },
        parameterNotFoundAction: 'Deny',
      })[2],
      '&LabelSelector{MatchLabels:map[string]string{app: x,env: test,},MatchExpressions:[]LabelSelectorRequirement{LabelSelectorRequirement{Key:tier,Operator:In,Values:[a b],},},}',
    )
    assert.equal(
      row(g, 'mutatingadmissionpolicybindings', { metadata: meta('b'), spec: { policyName: 'sidecar' } })[2],
      '<unset>',
    )
  })

  test('flow schemas', () => {
    const g = 'flowcontrol.apiserver.k8s.io'
    assert.deepEqual(columns(g, 'flowschemas'), [
      'Name',
      'PriorityLevel',
      'MatchingPrecedence',
      'DistinguisherMethod',
      'Age',
      'MissingPL',
    ])
    const fs = (spec: O, conditions: O[] = []) =>
      row(g, 'flowschemas', { metadata: meta('workload-leader-election'), spec, status: { conditions } })
    assert.deepEqual(
      fs(
        {
          priorityLevelConfiguration: { name: 'leader-election' },
          matchingPrecedence: 200,
          distinguisherMethod: { type: 'ByUser' },
        },
        [{ type: 'Dangling', status: 'False' }],
      ),
      ['workload-leader-election', 'leader-election', 200, 'ByUser', '5m30s', 'False'],
    )
    assert.deepEqual(fs({ priorityLevelConfiguration: { name: 'exempt' }, matchingPrecedence: 1 }).slice(3), [
      '<none>',
      '5m30s',
      '?',
    ])
  })

  test('priority level configurations', () => {
    const g = 'flowcontrol.apiserver.k8s.io'
    assert.deepEqual(columns(g, 'prioritylevelconfigurations'), [
      'Name',
      'Type',
      'NominalConcurrencyShares',
      'Queues',
      'HandSize',
      'QueueLengthLimit',
      'Age',
    ])
    const pl = (spec: O) => row(g, 'prioritylevelconfigurations', { metadata: meta('workload-low'), spec })
    assert.deepEqual(
      pl({
        type: 'Limited',
        limited: {
          nominalConcurrencyShares: 100,
          lendablePercent: 90,
          limitResponse: { type: 'Queue', queuing: { queues: 128, handSize: 6, queueLengthLimit: 50 } },
        },
      }),
      ['workload-low', 'Limited', 100, 128, 6, 50, '5m30s'],
    )
    assert.deepEqual(
      pl({
        type: 'Limited',
        limited: { nominalConcurrencyShares: 5, limitResponse: { type: 'Reject' } },
      }).slice(1, 6),
      ['Limited', 5, '<none>', '<none>', '<none>'],
    )
    assert.deepEqual(pl({ type: 'Exempt', exempt: {} }).slice(1, 6), [
      'Exempt',
      '<none>',
      '<none>',
      '<none>',
      '<none>',
    ])
  })

  test('API services', () => {
    const g = 'apiregistration.k8s.io'
    assert.deepEqual(columns(g, 'apiservices'), ['Name', 'Service', 'Available', 'Age'])
    const api = (spec: O, conditions: O[]) =>
      row(g, 'apiservices', { metadata: meta('v1beta1.metrics.k8s.io'), spec, status: { conditions } })
    const svc = { service: { namespace: 'kube-system', name: 'metrics-server', port: 443 } }
    assert.deepEqual(api({}, [{ type: 'Available', status: 'True', reason: 'Local' }]), [
      'v1beta1.metrics.k8s.io',
      'Local',
      'True',
      '5m30s',
    ])
    assert.deepEqual(
      api(svc, [{ type: 'Available', status: 'False', reason: 'MissingEndpoints' }]).slice(1, 3),
      ['kube-system/metrics-server', 'False (MissingEndpoints)'],
    )
    assert.equal(api(svc, [{ type: 'Available', status: 'False' }])[2], 'False')
    assert.equal(api(svc, [])[2], 'Unknown')
  })
})

describe('autoscaling', () => {
  const hpa = (metrics: O[], currentMetrics: O[], extra: O = {}) =>
    row('autoscaling', 'horizontalpodautoscalers', {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: meta('web'),
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        minReplicas: 2,
        maxReplicas: 10,
        metrics,
        ...extra,
      },
      status: { currentReplicas: 3, desiredReplicas: 3, currentMetrics },
    })
  const cpu = (target: O) => ({ type: 'Resource', resource: { name: 'cpu', target } })

  test('columns', () => {
    assert.deepEqual(columns('autoscaling', 'horizontalpodautoscalers'), [
      'Name',
      'Reference',
      'Targets',
      'MinPods',
      'MaxPods',
      'Replicas',
      'Age',
    ])
  })

  test('a CPU utilization target', () => {
    assert.deepEqual(
      hpa(
        [cpu({ type: 'Utilization', averageUtilization: 80 })],
        [
          {
            type: 'Resource',
            resource: { name: 'cpu', current: { averageUtilization: 45, averageValue: '90m' } },
          },
        ],
      ),
      ['web', 'Deployment/web', 'cpu: 45%/80%', '2', 10, 3, '5m30s'],
    )
    assert.equal(hpa([cpu({ type: 'Utilization', averageUtilization: 80 })], [])[2], 'cpu: <unknown>/80%')
    assert.equal(hpa([cpu({ type: 'Utilization' })], [])[2], 'cpu: <unknown>/<auto>')
    assert.equal(hpa([], [], { metrics: undefined, minReplicas: undefined })[2], '<none>')
    assert.equal(hpa([], [], { minReplicas: undefined })[3], '<unset>')
  })

  test('values and averages of every source, canonical, two at most', () => {
    const metrics = [
      {
        type: 'Resource',
        resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '1024Mi' } },
      },
      {
        type: 'Pods',
        pods: { metric: { name: 'rps' }, target: { type: 'AverageValue', averageValue: '1k' } },
      },
      {
        type: 'Object',
        object: {
          metric: { name: 'hits' },
          describedObject: { kind: 'Ingress', name: 'web' },
          target: { type: 'Value', value: '10k' },
        },
      },
      {
        type: 'External',
        external: { metric: { name: 'queue' }, target: { type: 'AverageValue', averageValue: '30' } },
      },
      {
        type: 'ContainerResource',
        containerResource: {
          name: 'cpu',
          container: 'web',
          target: { type: 'Utilization', averageUtilization: 60 },
        },
      },
    ]
    const current = [
      { type: 'Resource', resource: { name: 'memory', current: { averageValue: '536870912' } } },
      { type: 'Pods', pods: { metric: { name: 'rps' }, current: { averageValue: '1500m' } } },
      { type: 'Object', object: { metric: { name: 'hits' }, current: { value: '12000' } } },
      { type: 'External', external: { metric: { name: 'queue' }, current: { averageValue: '7' } } },
      {
        type: 'ContainerResource',
        containerResource: { name: 'cpu', container: 'web', current: { averageUtilization: 33 } },
      },
    ]
    assert.equal(hpa(metrics, current)[2], 'memory: 536870912/1Gi, 1500m/1k + 3 more...')
    const one = (i: number) => hpa([metrics[i] ?? {}], [current[i] ?? {}])[2]
    assert.equal(one(2), '12k/10k')
    assert.equal(one(3), '7/30 (avg)')
    assert.equal(one(4), 'cpu: 33%/60%')
    assert.equal(hpa([metrics[2] ?? {}], [])[2], '<unknown>/10k')
    assert.equal(
      hpa([metrics[3] ?? {}], [current[0] ?? {}])[2],
      '<unknown>/30 (avg)',
      'a status of another source',
    )
    assert.equal(hpa([{ type: 'Custom' }], [])[2], '<unknown type>')
  })

  test('an autoscaling/v1 object prints as the v2 object it is', () => {
    const v1 = {
      apiVersion: 'autoscaling/v1',
      kind: 'HorizontalPodAutoscaler',
      metadata: meta('web'),
      spec: {
        scaleTargetRef: { kind: 'Deployment', name: 'web' },
        maxReplicas: 5,
        targetCPUUtilizationPercentage: 70,
      },
      status: { currentReplicas: 1, currentCPUUtilizationPercentage: 20 },
    }
    assert.deepEqual(row('autoscaling', 'horizontalpodautoscalers', v1), [
      'web',
      'Deployment/web',
      'cpu: 20%/70%',
      '<unset>',
      5,
      1,
      '5m30s',
    ])
  })
})

describe('storage', () => {
  test('persistent volumes', () => {
    assert.deepEqual(columns('', 'persistentvolumes'), [
      'Name',
      'Capacity',
      'Access Modes',
      'Reclaim Policy',
      'Status',
      'Claim',
      'StorageClass',
      'VolumeAttributesClass',
      'Reason',
      'Age',
      '(VolumeMode)',
    ])
    const pv = (spec: O, status: O, m: O = {}) =>
      row('', 'persistentvolumes', {
        metadata: { name: 'pv-1', creationTimestamp: ago(330), ...m },
        spec,
        status,
      })
    assert.deepEqual(
      pv(
        {
          capacity: { storage: '10240Mi' },
          accessModes: ['ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          claimRef: { kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'data' },
          storageClassName: 'fast',
          volumeMode: 'Filesystem',
        },
        { phase: 'Bound' },
      ),
      [
        'pv-1',
        '10Gi',
        'RWO,RWX',
        'Retain',
        'Bound',
        'shop/data',
        'fast',
        '<unset>',
        '',
        '5m30s',
        'Filesystem',
      ],
    )
    assert.deepEqual(
      pv(
        {
          accessModes: ['ReadWriteOncePod', 'ReadOnlyMany'],
          persistentVolumeReclaimPolicy: 'Delete',
          volumeAttributesClassName: 'gold',
        },
        { phase: 'Failed', reason: 'VolumeFailedRecycle' },
        { deletionTimestamp: ago(5), annotations: { 'volume.beta.kubernetes.io/storage-class': 'legacy' } },
      ),
      [
        'pv-1',
        '0',
        'ROX,RWOP',
        'Delete',
        'Terminating',
        '',
        'legacy',
        'gold',
        'VolumeFailedRecycle',
        '5m30s',
        '<unset>',
      ],
    )
  })

  test('persistent volume claims', () => {
    assert.deepEqual(columns('', 'persistentvolumeclaims'), [
      'Name',
      'Status',
      'Volume',
      'Capacity',
      'Access Modes',
      'StorageClass',
      'VolumeAttributesClass',
      'Age',
      '(VolumeMode)',
    ])
    assert.deepEqual(
      row('', 'persistentvolumeclaims', {
        metadata: meta('data'),
        spec: {
          volumeName: 'pv-1',
          storageClassName: 'fast',
          volumeMode: 'Filesystem',
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Gi' } },
        },
        status: {
          phase: 'Bound',
          capacity: { storage: '1024Mi' },
          accessModes: ['ReadWriteOnce', 'ReadOnlyMany'],
        },
      }),
      ['data', 'Bound', 'pv-1', '1Gi', 'RWO,ROX', 'fast', '<unset>', '5m30s', 'Filesystem'],
    )
    assert.deepEqual(
      row('', 'persistentvolumeclaims', {
        metadata: meta('pending', { annotations: { 'volume.beta.kubernetes.io/storage-class': 'old' } }),
        spec: { storageClassName: 'new', resources: { requests: { storage: '5Gi' } } },
        status: { phase: 'Pending' },
      }),
      ['pending', 'Pending', '', '', '', 'old', '<unset>', '5m30s', '<unset>'],
    )
  })

  test('storage classes and volume attributes classes, defaults marked', () => {
    assert.deepEqual(columns('storage.k8s.io', 'storageclasses'), [
      'Name',
      'Provisioner',
      'ReclaimPolicy',
      'VolumeBindingMode',
      'AllowVolumeExpansion',
      'Age',
    ])
    assert.deepEqual(
      row('storage.k8s.io', 'storageclasses', {
        metadata: meta('standard', {
          annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
        }),
        provisioner: 'rancher.io/local-path',
        reclaimPolicy: 'Delete',
        volumeBindingMode: 'WaitForFirstConsumer',
      }),
      ['standard (default)', 'rancher.io/local-path', 'Delete', 'WaitForFirstConsumer', false, '5m30s'],
    )
    assert.deepEqual(
      row('storage.k8s.io', 'storageclasses', {
        metadata: meta('fast', {
          annotations: { 'storageclass.beta.kubernetes.io/is-default-class': 'false' },
        }),
        provisioner: 'csi.example.com',
        allowVolumeExpansion: true,
      }).slice(0, 5),
      ['fast', 'csi.example.com', 'Delete', 'Immediate', true],
    )
    assert.deepEqual(
      row('storage.k8s.io', 'volumeattributesclasses', {
        metadata: meta('gold', {
          annotations: { 'volumeattributesclass.alpha.kubernetes.io/is-default-class': 'true' },
        }),
        driverName: 'csi.example.com',
        parameters: { iops: '5000' },
      }),
      ['gold (default)', 'csi.example.com', '5m30s'],
    )
  })

  test('CSI drivers, nodes and storage capacities', () => {
    assert.deepEqual(columns('storage.k8s.io', 'csidrivers'), [
      'Name',
      'AttachRequired',
      'PodInfoOnMount',
      'StorageCapacity',
      'TokenRequests',
      'RequiresRepublish',
      'Modes',
      'Age',
    ])
    assert.deepEqual(row('storage.k8s.io', 'csidrivers', { metadata: meta('csi.example.com'), spec: {} }), [
      'csi.example.com',
      true,
      false,
      false,
      '<unset>',
      false,
      '<none>',
      '5m30s',
    ])
    assert.deepEqual(
      row('storage.k8s.io', 'csidrivers', {
        metadata: meta('secrets-store.csi.k8s.io'),
        spec: {
          attachRequired: false,
          podInfoOnMount: true,
          storageCapacity: true,
          tokenRequests: [{ audience: 'vault' }, { audience: 'api', expirationSeconds: 600 }],
          requiresRepublish: true,
          volumeLifecycleModes: ['Persistent', 'Ephemeral'],
        },
      }).slice(1, 7),
      [false, true, true, 'vault,api', true, 'Persistent,Ephemeral'],
    )
    assert.equal(
      row('storage.k8s.io', 'csidrivers', { metadata: meta('x'), spec: { tokenRequests: [] } })[4],
      '',
    )
    assert.deepEqual(
      row('storage.k8s.io', 'csinodes', {
        metadata: meta('n1'),
        spec: { drivers: [{ name: 'a', nodeID: 'n1' }] },
      }),
      ['n1', 1, '5m30s'],
    )
    assert.deepEqual(columns('storage.k8s.io', 'csistoragecapacities'), [
      'Name',
      'StorageClassName',
      'Capacity',
    ])
    assert.deepEqual(
      row('storage.k8s.io', 'csistoragecapacities', {
        metadata: meta('csisc-x'),
        storageClassName: 'fast',
        capacity: '2048Mi',
      }),
      ['csisc-x', 'fast', '2Gi'],
    )
    assert.equal(
      row('storage.k8s.io', 'csistoragecapacities', { metadata: meta('y'), storageClassName: 'fast' })[2],
      '<unset>',
    )
  })

  test('volume attachments', () => {
    assert.deepEqual(columns('storage.k8s.io', 'volumeattachments'), [
      'Name',
      'Attacher',
      'PV',
      'Node',
      'Attached',
      'Age',
    ])
    assert.deepEqual(
      row('storage.k8s.io', 'volumeattachments', {
        metadata: meta('csi-1a2b'),
        spec: { attacher: 'csi.example.com', nodeName: 'n1', source: { persistentVolumeName: 'pv-1' } },
        status: { attached: true },
      }),
      ['csi-1a2b', 'csi.example.com', 'pv-1', 'n1', true, '5m30s'],
    )
    assert.deepEqual(
      row('storage.k8s.io', 'volumeattachments', {
        metadata: meta('inline'),
        spec: { attacher: 'csi.example.com', nodeName: 'n2', source: { inlineVolumeSpec: {} } },
      }).slice(2, 5),
      ['', 'n2', false],
    )
  })
})

describe('dynamic resource allocation', () => {
  const g = 'resource.k8s.io'

  test('device classes and claim templates print name and age', () => {
    assert.deepEqual(columns(g, 'deviceclasses'), ['Name', 'Age'])
    assert.deepEqual(row(g, 'deviceclasses', { metadata: meta('gpu.example.com') }), [
      'gpu.example.com',
      '5m30s',
    ])
    assert.deepEqual(columns(g, 'resourceclaimtemplates'), ['Name', 'Age'])
  })

  test('resource claims: pending, allocated, reserved, deleted', () => {
    assert.deepEqual(columns(g, 'resourceclaims'), ['Name', 'State', 'Age'])
    const claim = (status: O, m: O = {}) =>
      row(g, 'resourceclaims', { metadata: meta('gpu', m), spec: {}, status })[1]
    const allocation = { devices: { results: [] } }
    assert.equal(claim({}), 'pending')
    assert.equal(claim({ allocation }), 'allocated')
    assert.equal(
      claim({ allocation, reservedFor: [{ resource: 'pods', name: 'p', uid: 'u' }] }),
      'allocated,reserved',
    )
    assert.equal(claim({ reservedFor: [{ resource: 'pods', name: 'p', uid: 'u' }] }), 'pending')
    assert.equal(claim({}, { deletionTimestamp: ago(1) }), 'deleted')
    assert.equal(claim({ allocation }, { deletionTimestamp: ago(1) }), 'deleted,allocated')
  })

  test('resource slices', () => {
    assert.deepEqual(columns(g, 'resourceslices'), ['Name', 'Node', 'Driver', 'Pool', 'Age'])
    assert.deepEqual(
      row(g, 'resourceslices', {
        metadata: meta('n1-gpu.example.com-x'),
        spec: {
          nodeName: 'n1',
          driver: 'gpu.example.com',
          pool: { name: 'n1', generation: 1, resourceSliceCount: 1 },
        },
      }),
      ['n1-gpu.example.com-x', 'n1', 'gpu.example.com', 'n1', '5m30s'],
    )
  })
})
