import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parse } from 'yaml'
import type { KubeObject } from '../object.ts'
import { defaulterFor } from './index.ts'

/**
 * Golden cases: a manifest as a client sends it, and the object as kube-apiserver v1.35 has it
 * after decoding (what `kubectl create -o yaml` shows, less what admission, the registry and
 * controllers add: names, uids, selectors of jobs, service account volumes, status).
 */

function defaulterOf(obj: KubeObject): (obj: KubeObject) => void {
  const apiVersion = String(obj.apiVersion)
  const slash = apiVersion.indexOf('/')
  const group = slash < 0 ? '' : apiVersion.slice(0, slash)
  const version = apiVersion.slice(slash + 1)
  const d = defaulterFor(group, version, String(obj.kind))
  assert.ok(d, `a defaulter for ${apiVersion} ${String(obj.kind)}`)
  return d
}

function defaulted(yaml: string): KubeObject {
  const obj = parse(yaml) as KubeObject
  defaulterOf(obj)(obj)
  return obj
}

/** Defaulting `input` gives `want`, and defaulting `want` again changes nothing. */
function golden(input: string, want: string): void {
  assert.deepEqual(defaulted(input), parse(want))
  const again = parse(want) as KubeObject
  defaulterOf(again)(again)
  assert.deepEqual(again, parse(want), 'defaulting a defaulted object changes nothing')
}

/** Defaulting leaves an object whose defaultable fields are all set exactly as it was. */
function unchanged(yaml: string): void {
  assert.deepEqual(defaulted(yaml), parse(yaml))
}

const podSpecDefaults = `
      dnsPolicy: ClusterFirst
      restartPolicy: Always
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 30`

const nginx = `
      - name: nginx
        image: nginx
        imagePullPolicy: Always
        resources: {}
        terminationMessagePath: /dev/termination-log
        terminationMessagePolicy: File`

describe('pods', () => {
  test('kubectl run: the pod and container defaults', () => {
    golden(
      `
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {run: web}}
spec:
  containers: [{name: web, image: "nginx:1.27", resources: {}}]
  dnsPolicy: ClusterFirst
  restartPolicy: Always
`,
      `
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {run: web}}
spec:
  containers:
  - name: web
    image: "nginx:1.27"
    imagePullPolicy: IfNotPresent
    resources: {}
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
  dnsPolicy: ClusterFirst
  enableServiceLinks: true
  restartPolicy: Always
  schedulerName: default-scheduler
  securityContext: {}
  terminationGracePeriodSeconds: 30
`,
    )
  })

  test('ports, env, probes, lifecycle hooks, requests from limits, every kind of container', () => {
    golden(
      `
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  initContainers:
  - {name: init, image: "busybox:1.36", resources: {limits: {cpu: "1"}}}
  containers:
  - name: web
    image: "nginx:1.27"
    ports: [{containerPort: 80}, {containerPort: 53, protocol: UDP}]
    env:
    - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: FROM_FILE, valueFrom: {fileKeyRef: {volumeName: cfg, path: env, key: A}}}
    resources: {limits: {cpu: 500m, memory: 128Mi}, requests: {cpu: 100m}}
    livenessProbe: {httpGet: {port: 80}}
    readinessProbe: {grpc: {port: 9000}}
    startupProbe: {tcpSocket: {port: 80}, periodSeconds: 2}
    lifecycle: {preStop: {httpGet: {port: 80, path: /drain}}, postStart: {exec: {command: [x]}}}
  - {name: sidecar, image: "registry.example.com:5000/team/app@sha256:${'a'.repeat(64)}"}
  ephemeralContainers:
  - {name: debug, image: busybox}
`,
      `
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  initContainers:
  - name: init
    image: "busybox:1.36"
    imagePullPolicy: IfNotPresent
    resources: {limits: {cpu: "1"}, requests: {cpu: "1"}}
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
  containers:
  - name: web
    image: "nginx:1.27"
    imagePullPolicy: IfNotPresent
    ports: [{containerPort: 80, protocol: TCP}, {containerPort: 53, protocol: UDP}]
    env:
    - {name: POD, valueFrom: {fieldRef: {apiVersion: v1, fieldPath: metadata.name}}}
    - {name: FROM_FILE, valueFrom: {fileKeyRef: {volumeName: cfg, path: env, key: A, optional: false}}}
    resources: {limits: {cpu: 500m, memory: 128Mi}, requests: {cpu: 100m, memory: 128Mi}}
    livenessProbe: {httpGet: {port: 80, path: /, scheme: HTTP}, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3}
    readinessProbe: {grpc: {port: 9000, service: ""}, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3}
    startupProbe: {tcpSocket: {port: 80}, timeoutSeconds: 1, periodSeconds: 2, successThreshold: 1, failureThreshold: 3}
    lifecycle: {preStop: {httpGet: {port: 80, path: /drain, scheme: HTTP}}, postStart: {exec: {command: [x]}}}
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
  - name: sidecar
    image: "registry.example.com:5000/team/app@sha256:${'a'.repeat(64)}"
    imagePullPolicy: IfNotPresent
    resources: {}
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
  ephemeralContainers:
  - name: debug
    image: busybox
    imagePullPolicy: Always
    resources: {}
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
  dnsPolicy: ClusterFirst
  enableServiceLinks: true
  restartPolicy: Always
  schedulerName: default-scheduler
  securityContext: {}
  terminationGracePeriodSeconds: 30
`,
    )
  })

  test('volumes of each defaulted source', () => {
    const got = defaulted(`
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c, image: "x:1"}]
  volumes:
  - name: scratch
  - {name: cfg, configMap: {name: cfg}}
  - {name: creds, secret: {secretName: creds, defaultMode: 256}}
  - {name: host, hostPath: {path: /var/log}}
  - {name: info, downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}}
  - name: token
    projected:
      sources:
      - serviceAccountToken: {path: token}
      - downwardAPI: {items: [{path: ns, fieldRef: {fieldPath: metadata.namespace}}]}
      - configMap: {name: ca}
  - {name: model, image: {reference: "registry.example.com/models/llm"}}
  - {name: pinned, image: {reference: "registry.example.com/models/llm:v3"}}
  - {name: cache, ephemeral: {volumeClaimTemplate: {spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}}}}
  - {name: disk, azureDisk: {diskName: d, diskURI: u}}
  - {name: block, iscsi: {targetPortal: "10.0.0.1:3260", iqn: "iqn.2001-04.com.example:storage", lun: 0}}
  - {name: ceph, rbd: {monitors: [m], image: i}}
  - {name: sio, scaleIO: {gateway: g, system: s, secretRef: {name: s}}}
`) as { spec: { volumes: unknown[] } }
    assert.deepEqual(
      got.spec.volumes,
      parse(`
- {name: scratch, emptyDir: {}}
- {name: cfg, configMap: {name: cfg, defaultMode: 420}}
- {name: creds, secret: {secretName: creds, defaultMode: 256}}
- {name: host, hostPath: {path: /var/log, type: ""}}
- {name: info, downwardAPI: {defaultMode: 420, items: [{path: labels, fieldRef: {apiVersion: v1, fieldPath: metadata.labels}}]}}
- name: token
  projected:
    defaultMode: 420
    sources:
    - serviceAccountToken: {path: token, expirationSeconds: 3600}
    - downwardAPI: {items: [{path: ns, fieldRef: {apiVersion: v1, fieldPath: metadata.namespace}}]}
    - configMap: {name: ca}
- {name: model, image: {reference: "registry.example.com/models/llm", pullPolicy: Always}}
- {name: pinned, image: {reference: "registry.example.com/models/llm:v3", pullPolicy: IfNotPresent}}
- {name: cache, ephemeral: {volumeClaimTemplate: {spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}, volumeMode: Filesystem}}}}
- {name: disk, azureDisk: {diskName: d, diskURI: u, cachingMode: ReadWrite, fsType: ext4, readOnly: false, kind: Shared}}
- {name: block, iscsi: {targetPortal: "10.0.0.1:3260", iqn: "iqn.2001-04.com.example:storage", lun: 0, iscsiInterface: default}}
- {name: ceph, rbd: {monitors: [m], image: i, pool: rbd, user: admin, keyring: /etc/ceph/keyring}}
- {name: sio, scaleIO: {gateway: g, system: s, secretRef: {name: s}, storageMode: ThinProvisioned, fsType: xfs}}
`),
    )
  })

  test('host-network pods publish container ports on the host', () => {
    const got = defaulted(`
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  hostNetwork: true
  initContainers: [{name: i, image: "x:1", ports: [{containerPort: 9000}]}]
  containers: [{name: c, image: "x:1", ports: [{containerPort: 8080, protocol: UDP}, {containerPort: 9090, hostPort: 19090}]}]
`) as { spec: { containers: { ports: unknown }[]; initContainers: { ports: unknown }[] } }
    assert.deepEqual(got.spec.containers[0]?.ports, [
      { containerPort: 8080, protocol: 'UDP', hostPort: 8080 },
      { containerPort: 9090, hostPort: 19090, protocol: 'TCP' },
    ])
    assert.deepEqual(got.spec.initContainers[0]?.ports, [
      { containerPort: 9000, protocol: 'TCP', hostPort: 9000 },
    ])
  })

  test('resource quantities are rounded up to the milli and written canonically', () => {
    const got = defaulted(`
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: c
    image: "x:1"
    resources:
      limits: {cpu: "0.5", memory: 1024Mi, ephemeral-storage: 2000M, example.com/gpu: 1}
      requests: {cpu: 0.0001, memory: 1.5Gi}
  overhead: {cpu: 250m, memory: "1e6"}
`) as { spec: { containers: { resources: unknown }[]; overhead: unknown } }
    assert.deepEqual(got.spec.containers[0]?.resources, {
      limits: { cpu: '500m', memory: '1Gi', 'ephemeral-storage': '2G', 'example.com/gpu': '1' },
      requests: { cpu: '1m', memory: '1536Mi', 'ephemeral-storage': '2G', 'example.com/gpu': '1' },
    })
    assert.deepEqual(got.spec.overhead, { cpu: '250m', memory: '1e6' })
  })

  test('pod-level resources: requests from the containers, else from the pod limits', () => {
    const got = defaulted(`
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  resources: {limits: {cpu: "2", memory: 1Gi, hugepages-2Mi: 4Mi}}
  initContainers:
  - {name: sidecar, image: "x:1", restartPolicy: Always, resources: {requests: {cpu: 100m}, limits: {hugepages-2Mi: 2Mi}}}
  - {name: setup, image: "x:1", resources: {requests: {cpu: "1"}}}
  containers:
  - {name: a, image: "x:1", resources: {requests: {cpu: 200m}, limits: {hugepages-2Mi: 2Mi}}}
  - {name: b, image: "x:1", resources: {limits: {cpu: 300m}}}
`) as { spec: { resources: unknown } }
    // cpu: the regular containers and the sidecar need 200m + 300m (b's limit) + 100m = 600m, but
    // setup runs beside the sidecar started before it: 1 + 100m = 1100m is the peak.
    assert.deepEqual(got.spec.resources, {
      limits: { cpu: '2', memory: '1Gi', 'hugepages-2Mi': '4Mi' },
      requests: { cpu: '1100m', memory: '1Gi', 'hugepages-2Mi': '4Mi' },
    })
    const hugePagesOnly = defaulted(`
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  resources: {requests: {memory: 1Gi}}
  containers:
  - {name: a, image: "x:1", resources: {limits: {hugepages-1Gi: 1Gi, cpu: "1"}}}
  - {name: b, image: "x:1", resources: {limits: {hugepages-1Gi: 1Gi}}}
`) as { spec: { resources: unknown } }
    // The hugepage limits the containers add up to become the pod's; with pod limits set, the
    // pod's requests then follow the containers' (cpu) and those limits (hugepages).
    assert.deepEqual(hugePagesOnly.spec.resources, {
      requests: { memory: '1Gi', cpu: '1', 'hugepages-1Gi': '2Gi' },
      limits: { 'hugepages-1Gi': '2Gi' },
    })
  })

  test('a pod template and a replication controller', () => {
    golden(
      `
apiVersion: v1
kind: PodTemplate
metadata: {name: t}
template: {metadata: {labels: {a: b}}, spec: {containers: [{name: nginx, image: nginx}]}}
`,
      `
apiVersion: v1
kind: PodTemplate
metadata: {name: t}
template:
  metadata: {labels: {a: b}}
  spec:
    containers:${nginx.replace(/^ {4}/gm, '  ')}${podSpecDefaults.replace(/^ {4}/gm, '  ')}
`,
    )
    golden(
      `
apiVersion: v1
kind: ReplicationController
metadata: {name: rc}
spec: {template: {metadata: {labels: {app: rc}}, spec: {containers: [{name: nginx, image: nginx, resources: {limits: {cpu: "1"}}}]}}}
`,
      `
apiVersion: v1
kind: ReplicationController
metadata: {name: rc, labels: {app: rc}}
spec:
  replicas: 1
  selector: {app: rc}
  template:
    metadata: {labels: {app: rc}}
    spec:
      containers:
      - name: nginx
        image: nginx
        imagePullPolicy: Always
        resources: {limits: {cpu: "1"}}
        terminationMessagePath: /dev/termination-log
        terminationMessagePolicy: File${podSpecDefaults}
`,
    )
  })
})

describe('apps and batch', () => {
  test('kubectl create deployment', () => {
    golden(
      `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  strategy: {}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: nginx, resources: {}}]
`,
      `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  progressDeadlineSeconds: 600
  replicas: 1
  revisionHistoryLimit: 10
  selector: {matchLabels: {app: web}}
  strategy:
    rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}
    type: RollingUpdate
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:${nginx}${podSpecDefaults}
`,
    )
  })

  test('a recreate deployment and a replica set', () => {
    const d = defaulted(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec: {strategy: {type: Recreate}, selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: nginx, image: nginx}]}}}
`) as { spec: Record<string, unknown> }
    assert.deepEqual(d.spec.strategy, { type: 'Recreate' })
    golden(
      `
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs}
spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: nginx, image: nginx}]}}}
`,
      `
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs}
spec:
  replicas: 1
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:${nginx}${podSpecDefaults}
`,
    )
  })

  test('a stateful set with claim templates', () => {
    golden(
      `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template: {metadata: {labels: {app: db}}, spec: {containers: [{name: nginx, image: nginx}]}}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`,
      `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  persistentVolumeClaimRetentionPolicy: {whenDeleted: Retain, whenScaled: Retain}
  podManagementPolicy: OrderedReady
  replicas: 1
  revisionHistoryLimit: 10
  selector: {matchLabels: {app: db}}
  serviceName: db
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:${nginx}${podSpecDefaults}
  updateStrategy:
    rollingUpdate: {maxUnavailable: 1, partition: 0}
    type: RollingUpdate
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
      volumeMode: Filesystem
    status: {phase: Pending}
`,
    )
    const onDelete = defaulted(`
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s}
spec: {updateStrategy: {type: OnDelete}, selector: {}, template: {spec: {containers: []}}}
`) as { spec: Record<string, unknown> }
    assert.deepEqual(onDelete.spec.updateStrategy, { type: 'OnDelete' })
  })

  test('a daemon set', () => {
    golden(
      `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: nginx, image: nginx}]}}}
`,
      `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  revisionHistoryLimit: 10
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:${nginx}${podSpecDefaults}
  updateStrategy:
    rollingUpdate: {maxSurge: 0, maxUnavailable: 1}
    type: RollingUpdate
`,
    )
  })

  test('kubectl create job: one pod, six retries', () => {
    golden(
      `
apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    metadata: {}
    spec:
      containers: [{name: nginx, image: nginx, resources: {}}]
      restartPolicy: Never
`,
      `
apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  backoffLimit: 6
  completionMode: NonIndexed
  completions: 1
  manualSelector: false
  parallelism: 1
  podReplacementPolicy: TerminatingOrFailed
  suspend: false
  template:
    metadata: {}
    spec:
      containers:${nginx}
      dnsPolicy: ClusterFirst
      restartPolicy: Never
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 30
`,
    )
  })

  test('jobs: labels from the template, per-index backoff, failure policies', () => {
    const job = defaulted(`
apiVersion: batch/v1
kind: Job
metadata: {name: p}
spec:
  parallelism: 3
  completions: 5
  completionMode: Indexed
  backoffLimitPerIndex: 1
  podFailurePolicy: {rules: [{action: Ignore, onPodConditions: [{type: DisruptionTarget}]}]}
  template: {metadata: {labels: {app: p}}, spec: {restartPolicy: Never, containers: [{name: c, image: "x:1"}]}}
`) as { metadata: Record<string, unknown>; spec: Record<string, unknown> }
    assert.deepEqual(job.metadata.labels, { app: 'p' })
    assert.equal(job.spec.completions, 5)
    assert.equal(job.spec.parallelism, 3)
    assert.equal(job.spec.backoffLimit, 2147483647)
    assert.equal(job.spec.podReplacementPolicy, 'Failed')
    assert.deepEqual(job.spec.podFailurePolicy, {
      rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }],
    })
    const onlyCompletions = defaulted(
      '{apiVersion: batch/v1, kind: Job, metadata: {name: j, labels: {own: x}}, spec: {completions: 4, template: {metadata: {labels: {app: j}}}}}',
    ) as { metadata: Record<string, unknown>; spec: Record<string, unknown> }
    assert.equal(onlyCompletions.spec.parallelism, 1)
    assert.deepEqual(onlyCompletions.metadata.labels, { own: 'x' })
  })

  test('a cron job: its job template gets pod spec defaults, not Job defaults', () => {
    golden(
      `
apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    metadata: {name: c}
    spec:
      podFailurePolicy: {rules: [{action: FailJob, onPodConditions: [{type: ConfigIssue}]}]}
      template: {spec: {containers: [{name: nginx, image: nginx}], restartPolicy: OnFailure}}
`,
      `
apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  concurrencyPolicy: Allow
  failedJobsHistoryLimit: 1
  jobTemplate:
    metadata: {name: c}
    spec:
      podFailurePolicy: {rules: [{action: FailJob, onPodConditions: [{type: ConfigIssue, status: "True"}]}]}
      template:
        spec:
          containers:${nginx.replace(/^/gm, '    ')}
          dnsPolicy: ClusterFirst
          restartPolicy: OnFailure
          schedulerName: default-scheduler
          securityContext: {}
          terminationGracePeriodSeconds: 30
  schedule: "*/5 * * * *"
  successfulJobsHistoryLimit: 3
  suspend: false
`,
    )
  })
})

describe('services', () => {
  const svc = (type: string, extra = '') => `
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: ${type}
  selector: {app: web}
  ports: [{name: http, port: 80}, {name: dns, port: 53, protocol: UDP, targetPort: dns}]${extra}
`
  const ports = `
  ports:
  - {name: http, port: 80, protocol: TCP, targetPort: 80}
  - {name: dns, port: 53, protocol: UDP, targetPort: dns}`

  test('ClusterIP', () => {
    golden(
      svc('ClusterIP'),
      `
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  internalTrafficPolicy: Cluster
  ipFamilies: [IPv4]
  ipFamilyPolicy: SingleStack${ports}
  selector: {app: web}
  sessionAffinity: None
  type: ClusterIP
`,
    )
  })

  test('NodePort', () => {
    golden(
      svc('NodePort'),
      `
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  externalTrafficPolicy: Cluster
  internalTrafficPolicy: Cluster
  ipFamilies: [IPv4]
  ipFamilyPolicy: SingleStack${ports}
  selector: {app: web}
  sessionAffinity: None
  type: NodePort
`,
    )
  })

  test('LoadBalancer', () => {
    golden(
      `${svc('LoadBalancer')}status: {loadBalancer: {ingress: [{ip: 192.0.2.10}, {hostname: lb.example.com}]}}`,
      `
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  allocateLoadBalancerNodePorts: true
  externalTrafficPolicy: Cluster
  internalTrafficPolicy: Cluster
  ipFamilies: [IPv4]
  ipFamilyPolicy: SingleStack${ports}
  selector: {app: web}
  sessionAffinity: None
  type: LoadBalancer
status: {loadBalancer: {ingress: [{ip: 192.0.2.10, ipMode: VIP}, {hostname: lb.example.com}]}}
`,
    )
  })

  test('ExternalName', () => {
    golden(
      `
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: example.com}
`,
      `
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: example.com, sessionAffinity: None}
`,
    )
  })

  test('no type is ClusterIP; headless without a selector asks for every family', () => {
    const headless = defaulted(`
apiVersion: v1
kind: Service
metadata: {name: h}
spec: {clusterIP: None, ports: [{port: 5432, targetPort: 0}]}
`) as { spec: Record<string, unknown> }
    assert.equal(headless.spec.type, 'ClusterIP')
    assert.equal(headless.spec.ipFamilyPolicy, 'RequireDualStack')
    assert.deepEqual(headless.spec.ipFamilies, ['IPv4'])
    assert.deepEqual(headless.spec.ports, [{ port: 5432, protocol: 'TCP', targetPort: 5432 }])
    const selected = defaulted(`
apiVersion: v1
kind: Service
metadata: {name: h}
spec: {clusterIP: None, selector: {app: db}}
`) as { spec: Record<string, unknown> }
    assert.equal(selected.spec.ipFamilyPolicy, 'SingleStack')
  })

  test('session affinity: ClientIP gets a timeout, None drops the config', () => {
    const clientIP = defaulted(svc('ClusterIP', '\n  sessionAffinity: ClientIP')) as {
      spec: Record<string, unknown>
    }
    assert.deepEqual(clientIP.spec.sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } })
    const none = defaulted(
      svc('ClusterIP', '\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}'),
    ) as {
      spec: Record<string, unknown>
    }
    assert.equal(none.spec.sessionAffinityConfig, undefined)
  })

  test('external IPs make a ClusterIP service externally accessible', () => {
    const s = defaulted(svc('ClusterIP', '\n  externalIPs: [192.0.2.1]')) as { spec: Record<string, unknown> }
    assert.equal(s.spec.externalTrafficPolicy, 'Cluster')
  })

  test('endpoints and endpoint slices', () => {
    const ep = defaulted(
      '{apiVersion: v1, kind: Endpoints, metadata: {name: e}, subsets: [{addresses: [{ip: 10.0.0.1}], ports: [{port: 80}]}]}',
    ) as { subsets: unknown }
    assert.deepEqual(ep.subsets, [
      { addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80, protocol: 'TCP' }] },
    ])
    const slice = defaulted(
      '{apiVersion: discovery.k8s.io/v1, kind: EndpointSlice, metadata: {name: e}, addressType: IPv4, endpoints: [], ports: [{port: 80}, {name: dns, port: 53, protocol: UDP}]}',
    ) as { ports: unknown }
    assert.deepEqual(slice.ports, [
      { port: 80, name: '', protocol: 'TCP' },
      { name: 'dns', port: 53, protocol: 'UDP' },
    ])
  })
})

describe('storage and the other core kinds', () => {
  test('a persistent volume claim', () => {
    golden(
      `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1024Mi}}}
`,
      `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}, volumeMode: Filesystem}
status: {phase: Pending}
`,
    )
  })

  test('a persistent volume', () => {
    golden(
      `
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv}
spec: {capacity: {storage: 10Gi}, accessModes: [ReadWriteOnce], hostPath: {path: /data}}
`,
      `
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv}
spec:
  accessModes: [ReadWriteOnce]
  capacity: {storage: 10Gi}
  hostPath: {path: /data, type: ""}
  persistentVolumeReclaimPolicy: Retain
  volumeMode: Filesystem
status: {phase: Pending}
`,
    )
  })

  test('secrets, namespaces, nodes', () => {
    const secret = defaulted('{apiVersion: v1, kind: Secret, metadata: {name: s}, data: {}}')
    assert.equal(secret.type, 'Opaque')
    golden(
      '{apiVersion: v1, kind: Namespace, metadata: {name: team-a}}',
      '{apiVersion: v1, kind: Namespace, metadata: {name: team-a, labels: {kubernetes.io/metadata.name: team-a}}, status: {phase: Active}}',
    )
    // The label follows the name even when the client says otherwise.
    const ns = defaulted(
      '{apiVersion: v1, kind: Namespace, metadata: {name: b, labels: {kubernetes.io/metadata.name: x, team: b}}}',
    )
    assert.deepEqual(ns.metadata?.labels, { 'kubernetes.io/metadata.name': 'b', team: 'b' })
    const generated = defaulted('{apiVersion: v1, kind: Namespace, metadata: {generateName: tmp-}}')
    assert.equal(generated.metadata?.labels, undefined)
    const node = defaulted(
      '{apiVersion: v1, kind: Node, metadata: {name: n}, status: {capacity: {cpu: "4", memory: 8388608Ki, pods: "110"}}}',
    ) as { status: unknown }
    assert.deepEqual(node.status, {
      capacity: { cpu: '4', memory: '8Gi', pods: '110' },
      allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
    })
    const bare = defaulted('{apiVersion: v1, kind: Node, metadata: {name: n}}')
    assert.equal(bare.status, undefined)
  })

  test('limit ranges and resource quotas', () => {
    const lr = defaulted(
      '{apiVersion: v1, kind: LimitRange, metadata: {name: l}, spec: {limits: [{type: Container, max: {cpu: "2"}, min: {memory: 1Mi}}, {type: Pod, max: {cpu: "4"}}]}}',
    ) as { spec: { limits: unknown[] } }
    assert.deepEqual(lr.spec.limits, [
      {
        type: 'Container',
        max: { cpu: '2' },
        min: { memory: '1Mi' },
        default: { cpu: '2' },
        defaultRequest: { cpu: '2', memory: '1Mi' },
      },
      { type: 'Pod', max: { cpu: '4' } },
    ])
    const rq = defaulted(
      '{apiVersion: v1, kind: ResourceQuota, metadata: {name: q}, spec: {hard: {requests.cpu: "0.5", pods: "10"}}}',
    ) as { spec: unknown }
    assert.deepEqual(rq.spec, { hard: { 'requests.cpu': '500m', pods: '10' } })
  })

  test('storage classes, CSI drivers, volume attachments', () => {
    golden(
      '{apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: {name: s}, provisioner: x}',
      '{apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: {name: s}, provisioner: x, reclaimPolicy: Delete, volumeBindingMode: Immediate}',
    )
    golden(
      '{apiVersion: storage.k8s.io/v1, kind: CSIDriver, metadata: {name: d}, spec: {}}',
      `
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: {name: d}
spec:
  attachRequired: true
  fsGroupPolicy: ReadWriteOnceWithFSType
  podInfoOnMount: false
  requiresRepublish: false
  seLinuxMount: false
  storageCapacity: false
  volumeLifecycleModes: [Persistent]
`,
    )
    const va = defaulted(
      '{apiVersion: storage.k8s.io/v1, kind: VolumeAttachment, metadata: {name: v}, spec: {attacher: a, nodeName: n, source: {inlineVolumeSpec: {capacity: {storage: "1073741824"}, iscsi: {targetPortal: p, iqn: q, lun: 0}}}}}',
    ) as { spec: { source: unknown } }
    assert.deepEqual(va.spec.source, {
      inlineVolumeSpec: {
        capacity: { storage: '1073741824' },
        iscsi: { targetPortal: 'p', iqn: 'q', lun: 0, iscsiInterface: 'default' },
      },
    })
  })
})

describe('the other groups', () => {
  test('RBAC bindings: roles and users are RBAC, service accounts are core', () => {
    golden(
      `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb, namespace: ns}
roleRef: {kind: ClusterRole, name: view}
subjects: [{kind: User, name: jane}, {kind: Group, name: devs}, {kind: ServiceAccount, name: sa, namespace: ns}]
`,
      `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb, namespace: ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: jane}
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: devs}
- {kind: ServiceAccount, name: sa, namespace: ns}
`,
    )
    const crb = defaulted(
      '{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding, metadata: {name: c}, roleRef: {kind: ClusterRole, name: admin}}',
    )
    assert.deepEqual(crb.roleRef, {
      kind: 'ClusterRole',
      name: 'admin',
      apiGroup: 'rbac.authorization.k8s.io',
    })
  })

  test('a horizontal pod autoscaler without metrics scales on 80% cpu', () => {
    golden(
      `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}, maxReplicas: 5}
`,
      `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  maxReplicas: 5
  metrics:
  - resource:
      name: cpu
      target: {averageUtilization: 80, type: Utilization}
    type: Resource
  minReplicas: 1
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
`,
    )
  })

  test('an autoscaler behavior is filled in for both directions', () => {
    golden(
      `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 5
  metrics: [{type: Resource, resource: {name: memory, target: {type: AverageValue, averageValue: 500Mi}}}]
  behavior: {scaleDown: {stabilizationWindowSeconds: 60, tolerance: "0.05"}}
`,
      `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 5
  metrics: [{type: Resource, resource: {name: memory, target: {type: AverageValue, averageValue: 500Mi}}}]
  behavior:
    scaleDown:
      policies: [{periodSeconds: 15, type: Percent, value: 100}]
      selectPolicy: Max
      stabilizationWindowSeconds: 60
      tolerance: "0.05"
    scaleUp:
      policies: [{periodSeconds: 15, type: Pods, value: 4}, {periodSeconds: 15, type: Percent, value: 100}]
      selectPolicy: Max
      stabilizationWindowSeconds: 0
`,
    )
    const v1 = defaulted(
      '{apiVersion: autoscaling/v1, kind: HorizontalPodAutoscaler, metadata: {name: h}, spec: {scaleTargetRef: {kind: Deployment, name: web}, maxReplicas: 3}}',
    ) as { spec: unknown }
    assert.deepEqual(v1.spec, {
      scaleTargetRef: { kind: 'Deployment', name: 'web' },
      maxReplicas: 3,
      minReplicas: 1,
    })
  })

  test('webhook configurations', () => {
    golden(
      `
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: w}
webhooks:
- name: a.example.com
  sideEffects: None
  admissionReviewVersions: [v1]
  clientConfig: {service: {name: s, namespace: n}}
  rules: [{operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [pods]}]
`,
      `
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: w}
webhooks:
- name: a.example.com
  sideEffects: None
  admissionReviewVersions: [v1]
  clientConfig: {service: {name: s, namespace: n, port: 443}}
  failurePolicy: Fail
  matchPolicy: Equivalent
  namespaceSelector: {}
  objectSelector: {}
  reinvocationPolicy: Never
  rules: [{operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [pods], scope: "*"}]
  timeoutSeconds: 10
`,
    )
    const validating = defaulted(`
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: w}
webhooks: [{name: a.example.com, sideEffects: None, admissionReviewVersions: [v1], clientConfig: {url: "https://x"}}]
`) as { webhooks: unknown[] }
    assert.deepEqual(validating.webhooks[0], {
      name: 'a.example.com',
      sideEffects: 'None',
      admissionReviewVersions: ['v1'],
      clientConfig: { url: 'https://x' },
      failurePolicy: 'Fail',
      matchPolicy: 'Equivalent',
      namespaceSelector: {},
      objectSelector: {},
      timeoutSeconds: 10,
    })
  })

  test('admission policies and their bindings', () => {
    const policy = defaulted(`
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: p}
spec:
  matchConstraints: {resourceRules: [{operations: [CREATE], apiGroups: [apps], apiVersions: [v1], resources: [deployments]}]}
  validations: [{expression: "object.spec.replicas <= 5"}]
`) as { spec: unknown }
    assert.deepEqual(policy.spec, {
      failurePolicy: 'Fail',
      matchConstraints: {
        matchPolicy: 'Equivalent',
        namespaceSelector: {},
        objectSelector: {},
        resourceRules: [
          {
            operations: ['CREATE'],
            apiGroups: ['apps'],
            apiVersions: ['v1'],
            resources: ['deployments'],
            scope: '*',
          },
        ],
      },
      validations: [{ expression: 'object.spec.replicas <= 5' }],
    })
    const mutating = defaulted(
      '{apiVersion: admissionregistration.k8s.io/v1, kind: MutatingAdmissionPolicy, metadata: {name: m}, spec: {reinvocationPolicy: IfNeeded}}',
    ) as { spec: unknown }
    assert.deepEqual(mutating.spec, { reinvocationPolicy: 'IfNeeded', failurePolicy: 'Fail' })
    const binding = defaulted(
      '{apiVersion: admissionregistration.k8s.io/v1, kind: ValidatingAdmissionPolicyBinding, metadata: {name: b}, spec: {policyName: p, validationActions: [Deny], paramRef: {name: x}, matchResources: {}}}',
    ) as { spec: unknown }
    assert.deepEqual(binding.spec, {
      policyName: 'p',
      validationActions: ['Deny'],
      paramRef: { name: 'x' },
      matchResources: { matchPolicy: 'Equivalent', namespaceSelector: {}, objectSelector: {} },
    })
  })

  test('network policies, ingress classes, priority classes', () => {
    const np = defaulted(
      '{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: n}, spec: {podSelector: {}, ingress: [{ports: [{port: 80}]}], egress: [{ports: [{port: 53, protocol: UDP}]}]}}',
    ) as { spec: unknown }
    assert.deepEqual(np.spec, {
      podSelector: {},
      ingress: [{ ports: [{ port: 80, protocol: 'TCP' }] }],
      egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }],
      policyTypes: ['Ingress', 'Egress'],
    })
    const ingressOnly = defaulted(
      '{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: n}, spec: {podSelector: {}}}',
    ) as { spec: Record<string, unknown> }
    assert.deepEqual(ingressOnly.spec.policyTypes, ['Ingress'])
    const ic = defaulted(
      '{apiVersion: networking.k8s.io/v1, kind: IngressClass, metadata: {name: i}, spec: {controller: x/y, parameters: {kind: K, name: n}}}',
    ) as { spec: unknown }
    assert.deepEqual(ic.spec, { controller: 'x/y', parameters: { kind: 'K', name: 'n', scope: 'Cluster' } })
    const pc = defaulted(
      '{apiVersion: scheduling.k8s.io/v1, kind: PriorityClass, metadata: {name: p}, value: 10}',
    )
    assert.equal(pc.preemptionPolicy, 'PreemptLowerPriority')
  })

  test('flow control', () => {
    const fs = defaulted(
      '{apiVersion: flowcontrol.apiserver.k8s.io/v1, kind: FlowSchema, metadata: {name: f}, spec: {priorityLevelConfiguration: {name: p}}}',
    ) as { spec: Record<string, unknown> }
    assert.equal(fs.spec.matchingPrecedence, 1000)
    const limited = defaulted(
      '{apiVersion: flowcontrol.apiserver.k8s.io/v1, kind: PriorityLevelConfiguration, metadata: {name: p}, spec: {type: Limited, limited: {limitResponse: {type: Queue, queuing: {}}}}}',
    ) as { spec: unknown }
    assert.deepEqual(limited.spec, {
      type: 'Limited',
      limited: {
        nominalConcurrencyShares: 30,
        lendablePercent: 0,
        limitResponse: { type: 'Queue', queuing: { queues: 64, handSize: 8, queueLengthLimit: 50 } },
      },
    })
    const exempt = defaulted(
      '{apiVersion: flowcontrol.apiserver.k8s.io/v1, kind: PriorityLevelConfiguration, metadata: {name: e}, spec: {type: Exempt, exempt: {}}}',
    ) as { spec: unknown }
    assert.deepEqual(exempt.spec, {
      type: 'Exempt',
      exempt: { nominalConcurrencyShares: 0, lendablePercent: 0 },
    })
  })

  test('resource claims and their templates', () => {
    const claim = defaulted(`
apiVersion: resource.k8s.io/v1
kind: ResourceClaim
metadata: {name: c}
spec:
  devices:
    requests:
    - {name: gpu, exactly: {deviceClassName: gpu, tolerations: [{key: k, effect: NoSchedule}]}}
    - {name: all, exactly: {deviceClassName: nic, allocationMode: All}}
    - {name: any, firstAvailable: [{name: big, deviceClassName: big, count: 2}, {name: small, deviceClassName: small}]}
`) as { spec: unknown }
    assert.deepEqual(
      claim.spec,
      parse(`
devices:
  requests:
  - {name: gpu, exactly: {deviceClassName: gpu, allocationMode: ExactCount, count: 1, tolerations: [{key: k, effect: NoSchedule, operator: Equal}]}}
  - {name: all, exactly: {deviceClassName: nic, allocationMode: All}}
  - name: any
    firstAvailable:
    - {name: big, deviceClassName: big, count: 2, allocationMode: ExactCount}
    - {name: small, deviceClassName: small, allocationMode: ExactCount, count: 1}
`),
    )
    const template = defaulted(
      '{apiVersion: resource.k8s.io/v1, kind: ResourceClaimTemplate, metadata: {name: t}, spec: {spec: {devices: {requests: [{name: r, exactly: {deviceClassName: d}}]}}}}',
    ) as { spec: unknown }
    assert.deepEqual(template.spec, {
      spec: {
        devices: {
          requests: [
            { name: 'r', exactly: { deviceClassName: 'd', allocationMode: 'ExactCount', count: 1 } },
          ],
        },
      },
    })
  })

  test('custom resource definitions and API services', () => {
    const crd = defaulted(`
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets}
  versions: [{name: v1beta1, served: true, storage: false}, {name: v1, served: true, storage: true}]
`) as { spec: Record<string, unknown>; status: unknown }
    assert.deepEqual(crd.spec.names, {
      kind: 'Widget',
      plural: 'widgets',
      singular: 'widget',
      listKind: 'WidgetList',
    })
    assert.deepEqual(crd.spec.conversion, { strategy: 'None' })
    assert.deepEqual(crd.status, { storedVersions: ['v1'] })
    const webhook = defaulted(
      '{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: w}, spec: {names: {kind: W}, conversion: {strategy: Webhook, webhook: {conversionReviewVersions: [v1], clientConfig: {service: {name: s, namespace: n}}}}}}',
    ) as { spec: Record<string, unknown> }
    assert.deepEqual(webhook.spec.conversion, {
      strategy: 'Webhook',
      webhook: {
        conversionReviewVersions: ['v1'],
        clientConfig: { service: { name: 's', namespace: 'n', port: 443 } },
      },
    })
    const api = defaulted(
      '{apiVersion: apiregistration.k8s.io/v1, kind: APIService, metadata: {name: v1.example.com}, spec: {group: example.com, version: v1, service: {name: s, namespace: n}, groupPriorityMinimum: 100, versionPriority: 10}}',
    ) as { spec: Record<string, unknown> }
    assert.deepEqual(api.spec.service, { name: 's', namespace: 'n', port: 443 })
  })

  test('kinds without defaults have no defaulter', () => {
    for (const [group, kind] of [
      ['', 'ConfigMap'],
      ['', 'ServiceAccount'],
      ['', 'Event'],
      ['coordination.k8s.io', 'Lease'],
      ['node.k8s.io', 'RuntimeClass'],
      ['policy', 'PodDisruptionBudget'],
      ['networking.k8s.io', 'Ingress'],
      ['certificates.k8s.io', 'CertificateSigningRequest'],
      ['rbac.authorization.k8s.io', 'ClusterRole'],
    ] as const) {
      assert.equal(defaulterFor(group, 'v1', kind), undefined, kind)
    }
  })
})

describe('defaulting never overwrites a value that is set', () => {
  test('pods', () => {
    unchanged(`
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  dnsPolicy: Default
  restartPolicy: Never
  schedulerName: custom
  securityContext: {runAsUser: 1000}
  terminationGracePeriodSeconds: 0
  enableServiceLinks: false
  hostNetwork: true
  containers:
  - name: c
    image: nginx
    imagePullPolicy: Never
    terminationMessagePath: /tmp/log
    terminationMessagePolicy: FallbackToLogsOnError
    ports: [{containerPort: 8080, hostPort: 80, protocol: SCTP}]
    env: [{name: N, valueFrom: {fieldRef: {apiVersion: v2, fieldPath: x}}}]
    resources: {limits: {cpu: 500m}, requests: {cpu: 100m}}
    livenessProbe: {httpGet: {port: 80, path: /healthz, scheme: HTTPS}, timeoutSeconds: 5, periodSeconds: 7, successThreshold: 2, failureThreshold: 9}
    readinessProbe: {grpc: {port: 1, service: health}, timeoutSeconds: 5, periodSeconds: 7, successThreshold: 2, failureThreshold: 9}
  volumes:
  - {name: a, configMap: {name: c, defaultMode: 256}}
  - {name: b, hostPath: {path: /x, type: Directory}}
  - {name: d, projected: {defaultMode: 256, sources: [{serviceAccountToken: {path: t, expirationSeconds: 600}}]}}
  - {name: i, image: {reference: "x", pullPolicy: Never}}
`)
  })

  test('workloads', () => {
    const template = `{metadata: {labels: {a: b}}, spec: {dnsPolicy: None, restartPolicy: OnFailure, schedulerName: s, securityContext: {}, terminationGracePeriodSeconds: 5, containers: []}}`
    unchanged(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  replicas: 0
  revisionHistoryLimit: 0
  progressDeadlineSeconds: 60
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}
  selector: {matchLabels: {a: b}}
  template: ${template}
`)
    unchanged(`
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s}
spec:
  replicas: 3
  revisionHistoryLimit: 2
  podManagementPolicy: Parallel
  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2, maxUnavailable: 50%}}
  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete, whenScaled: Delete}
  selector: {matchLabels: {a: b}}
  template: ${template}
  volumeClaimTemplates: [{metadata: {name: v}, spec: {volumeMode: Block}, status: {phase: Bound}}]
`)
    unchanged(`
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: d}
spec:
  revisionHistoryLimit: 1
  updateStrategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {a: b}}
  template: ${template}
`)
    unchanged(`
apiVersion: batch/v1
kind: Job
metadata: {name: j, labels: {mine: x}}
spec:
  completions: 3
  parallelism: 0
  backoffLimit: 0
  completionMode: Indexed
  suspend: true
  manualSelector: true
  podReplacementPolicy: Failed
  template: ${template}
`)
    unchanged(`
apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  schedule: "@hourly"
  concurrencyPolicy: Forbid
  suspend: true
  successfulJobsHistoryLimit: 0
  failedJobsHistoryLimit: 0
  jobTemplate: {spec: {template: ${template}}}
`)
  })

  test('services and the other groups', () => {
    unchanged(`
apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  type: LoadBalancer
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}
  externalTrafficPolicy: Local
  internalTrafficPolicy: Local
  allocateLoadBalancerNodePorts: false
  ipFamilyPolicy: PreferDualStack
  ipFamilies: [IPv6]
  ports: [{port: 80, protocol: UDP, targetPort: 8080}]
status: {loadBalancer: {ingress: [{ip: 192.0.2.1, ipMode: Proxy}]}}
`)
    unchanged(`
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: h}
spec:
  minReplicas: 3
  maxReplicas: 4
  metrics: [{type: Pods, pods: {metric: {name: qps}, target: {type: AverageValue, averageValue: "10"}}}]
  behavior:
    scaleUp: {stabilizationWindowSeconds: 30, selectPolicy: Min, policies: [{type: Pods, value: 1, periodSeconds: 60}]}
    scaleDown: {stabilizationWindowSeconds: 30, selectPolicy: Disabled, policies: [{type: Pods, value: 1, periodSeconds: 60}]}
`)
    unchanged(`
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: w}
webhooks:
- name: a.example.com
  sideEffects: None
  admissionReviewVersions: [v1]
  clientConfig: {service: {name: s, namespace: n, port: 8443}}
  failurePolicy: Ignore
  matchPolicy: Exact
  namespaceSelector: {matchLabels: {a: b}}
  objectSelector: {matchLabels: {a: b}}
  rules: [{operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [pods], scope: Namespaced}]
  timeoutSeconds: 3
`)
    unchanged(`
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: c}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}
subjects: [{kind: User, name: jane, apiGroup: example.com}]
`)
    unchanged(`
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: c}
spec: {volumeMode: Block, resources: {requests: {storage: 1Gi}}}
status: {phase: Bound}
`)
    unchanged(
      '{apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: {name: s}, provisioner: x, reclaimPolicy: Retain, volumeBindingMode: WaitForFirstConsumer}',
    )
  })
})
