import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parse } from 'yaml'
import { defaulterFor } from './index.ts'
import { imageTag } from './core.ts'

/** Golden cases: a manifest as sent, and the object as kube-apiserver v1.35 defaults it. */
function defaulted(yaml: string): unknown {
  const obj = parse(yaml) as Record<string, unknown>
  const [group, version] = String(obj.apiVersion).includes('/')
    ? String(obj.apiVersion).split('/')
    : ['', String(obj.apiVersion)]
  const d = defaulterFor(group ?? '', version ?? '', String(obj.kind))
  assert.ok(d, `a defaulter for ${String(obj.apiVersion)} ${String(obj.kind)}`)
  d(obj)
  return obj
}

const podSpecDefaults = `
      dnsPolicy: ClusterFirst
      restartPolicy: Always
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 30`

describe('pods and pod templates', () => {
  test('a pod gets the pod, container, probe, port, env and volume defaults', () => {
    const got = defaulted(`
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: web
    image: nginx:1.27
    ports: [{containerPort: 80}]
    env: [{name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
    resources: {limits: {cpu: 500m, memory: 128Mi}, requests: {cpu: 100m}}
    livenessProbe: {httpGet: {port: 80}}
    readinessProbe: {grpc: {port: 9000}}
    volumeMounts: [{name: cache, mountPath: /cache}]
  - name: sidecar
    image: busybox
  volumes:
  - name: cache
  - name: config
    configMap: {name: cfg}
  - name: token
    projected: {sources: [{serviceAccountToken: {path: token}}]}
`)
    const want: unknown = parse(`
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: web
    image: nginx:1.27
    imagePullPolicy: IfNotPresent
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
    ports: [{containerPort: 80, protocol: TCP}]
    env: [{name: POD, valueFrom: {fieldRef: {apiVersion: v1, fieldPath: metadata.name}}}]
    resources: {limits: {cpu: 500m, memory: 128Mi}, requests: {cpu: 100m, memory: 128Mi}}
    livenessProbe: {httpGet: {port: 80, path: /, scheme: HTTP}, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3}
    readinessProbe: {grpc: {port: 9000, service: ""}, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3}
    volumeMounts: [{name: cache, mountPath: /cache}]
  - name: sidecar
    image: busybox
    imagePullPolicy: Always
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
  volumes:
  - name: cache
    emptyDir: {}
  - name: config
    configMap: {name: cfg, defaultMode: 420}
  - name: token
    projected: {defaultMode: 420, sources: [{serviceAccountToken: {path: token, expirationSeconds: 3600}}]}
  dnsPolicy: ClusterFirst
  restartPolicy: Always
  schedulerName: default-scheduler
  securityContext: {}
  terminationGracePeriodSeconds: 30
  enableServiceLinks: true
`)
    assert.deepEqual(got, want)
  })

  test('image pull policy follows the tag', () => {
    assert.equal(imageTag('nginx'), 'latest')
    assert.equal(imageTag('nginx:latest'), 'latest')
    assert.equal(imageTag('registry:5000/team/app'), 'latest')
    assert.equal(imageTag('registry:5000/team/app:v2'), 'v2')
    assert.equal(imageTag('nginx@sha256:abcd'), '')
  })

  test('set fields are never changed; host-network pods publish their ports', () => {
    const got = defaulted(`
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  hostNetwork: true
  restartPolicy: Never
  dnsPolicy: Default
  terminationGracePeriodSeconds: 0
  enableServiceLinks: false
  containers: [{name: c, image: x, imagePullPolicy: Never, ports: [{containerPort: 8080, protocol: UDP}]}]
`) as { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } }
    assert.equal(got.spec.restartPolicy, 'Never')
    assert.equal(got.spec.dnsPolicy, 'Default')
    assert.equal(got.spec.terminationGracePeriodSeconds, 0)
    assert.equal(got.spec.enableServiceLinks, false)
    assert.equal(got.spec.containers[0]?.imagePullPolicy, 'Never')
    assert.deepEqual(got.spec.containers[0]?.ports, [
      { containerPort: 8080, protocol: 'UDP', hostPort: 8080 },
    ])
  })

  test('a deployment as kubectl create deployment sends it', () => {
    const got = defaulted(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: nginx}]
`)
    assert.deepEqual(
      got,
      parse(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 1
  progressDeadlineSeconds: 600
  revisionHistoryLimit: 10
  selector: {matchLabels: {app: web}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx
        imagePullPolicy: Always
        terminationMessagePath: /dev/termination-log
        terminationMessagePolicy: File${podSpecDefaults}
`),
    )
  })

  test('stateful sets, daemon sets and replication controllers', () => {
    const ss = defaulted(`
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template: {metadata: {labels: {app: db}}, spec: {containers: [{name: db, image: postgres:16}]}}
  volumeClaimTemplates: [{metadata: {name: data}, spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}}]
`) as { spec: Record<string, unknown> }
    assert.deepEqual(
      { ...ss.spec, template: undefined },
      {
        ...(parse(`
serviceName: db
replicas: 1
revisionHistoryLimit: 10
podManagementPolicy: OrderedReady
updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 0}}
persistentVolumeClaimRetentionPolicy: {whenDeleted: Retain, whenScaled: Retain}
selector: {matchLabels: {app: db}}
volumeClaimTemplates: [{metadata: {name: data}, spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}, volumeMode: Filesystem}, status: {phase: Pending}}]
`) as Record<string, unknown>),
        template: undefined,
      },
    )
    const ds = defaulted(`
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: x:1}]}}}
`) as { spec: Record<string, unknown> }
    assert.deepEqual(ds.spec.updateStrategy, {
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
    })
    assert.equal(ds.spec.revisionHistoryLimit, 10)
    const rc = defaulted(`
apiVersion: v1
kind: ReplicationController
metadata: {name: rc}
spec: {template: {metadata: {labels: {app: rc}}, spec: {containers: [{name: c, image: x:1}]}}}
`) as { metadata: Record<string, unknown>; spec: Record<string, unknown> }
    assert.deepEqual(rc.spec.selector, { app: 'rc' })
    assert.deepEqual(rc.metadata.labels, { app: 'rc' })
    assert.equal(rc.spec.replicas, 1)
  })
})

describe('batch', () => {
  test('a job without counts runs one pod; a cron job keeps three successes and one failure', () => {
    const job = defaulted(`
apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec: {template: {metadata: {labels: {app: pi}}, spec: {restartPolicy: Never, containers: [{name: pi, image: perl:5.34}]}}}
`) as { metadata: Record<string, unknown>; spec: Record<string, unknown> }
    assert.deepEqual(
      { ...job.spec, template: undefined },
      {
        completions: 1,
        parallelism: 1,
        backoffLimit: 6,
        completionMode: 'NonIndexed',
        suspend: false,
        podReplacementPolicy: 'TerminatingOrFailed',
        template: undefined,
      },
    )
    assert.deepEqual(job.metadata.labels, { app: 'pi' })
    const parallel = defaulted(`
apiVersion: batch/v1
kind: Job
metadata: {name: p}
spec: {parallelism: 3, backoffLimitPerIndex: 1, completionMode: Indexed, completions: 5, podFailurePolicy: {rules: [{action: Ignore, onPodConditions: [{type: DisruptionTarget}]}]}, template: {spec: {containers: [{name: c, image: x:1}]}}}
`) as { spec: Record<string, unknown> }
    assert.equal(parallel.spec.completions, 5)
    assert.equal(parallel.spec.backoffLimit, 2147483647)
    assert.equal(parallel.spec.podReplacementPolicy, 'Failed')
    assert.deepEqual(parallel.spec.podFailurePolicy, {
      rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }],
    })
    const cj = defaulted(`
apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec: {schedule: "*/5 * * * *", jobTemplate: {spec: {template: {spec: {containers: [{name: c, image: busybox}]}}}}}
`) as {
      spec: Record<string, unknown> & {
        jobTemplate: { spec: Record<string, unknown> & { template: { spec: Record<string, unknown> } } }
      }
    }
    assert.equal(cj.spec.concurrencyPolicy, 'Allow')
    assert.equal(cj.spec.suspend, false)
    assert.equal(cj.spec.successfulJobsHistoryLimit, 3)
    assert.equal(cj.spec.failedJobsHistoryLimit, 1)
    assert.equal(cj.spec.jobTemplate.spec.template.spec.restartPolicy, 'Always')
    assert.equal(cj.spec.jobTemplate.spec.backoffLimit, undefined, 'job templates do not get Job defaults')
  })
})

describe('services and the other groups', () => {
  test('services of each type', () => {
    const svc = (type: string, extra = '') =>
      defaulted(`
apiVersion: v1
kind: Service
metadata: {name: s}
spec: {type: ${type}, ports: [{port: 80}, {port: 53, protocol: UDP, targetPort: dns}]${extra}}
`) as { spec: Record<string, unknown> }
    assert.deepEqual(
      svc('ClusterIP').spec,
      parse(`
type: ClusterIP
sessionAffinity: None
internalTrafficPolicy: Cluster
ipFamilyPolicy: SingleStack
ipFamilies: [IPv4]
ports: [{port: 80, protocol: TCP, targetPort: 80}, {port: 53, protocol: UDP, targetPort: dns}]
`),
    )
    assert.equal(svc('NodePort').spec.externalTrafficPolicy, 'Cluster')
    const lb = svc('LoadBalancer').spec
    assert.equal(lb.allocateLoadBalancerNodePorts, true)
    assert.equal(lb.externalTrafficPolicy, 'Cluster')
    const ext = svc('ExternalName', ', externalName: example.com').spec
    assert.equal(ext.internalTrafficPolicy, undefined)
    assert.equal(ext.ipFamilies, undefined)
    const affinity = svc('ClusterIP', ', sessionAffinity: ClientIP').spec
    assert.deepEqual(affinity.sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } })
  })

  test('storage, secrets, namespaces, limit ranges', () => {
    const pvc = defaulted(
      '{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: c}, spec: {accessModes: [ReadWriteOnce]}}',
    ) as Record<string, Record<string, unknown>>
    assert.equal(pvc.spec?.volumeMode, 'Filesystem')
    assert.deepEqual(pvc.status, { phase: 'Pending' })
    const pv = defaulted(
      '{apiVersion: v1, kind: PersistentVolume, metadata: {name: v}, spec: {hostPath: {path: /x}}}',
    ) as Record<string, Record<string, unknown>>
    assert.deepEqual(pv.spec, {
      hostPath: { path: '/x', type: '' },
      persistentVolumeReclaimPolicy: 'Retain',
      volumeMode: 'Filesystem',
    })
    assert.equal(
      (defaulted('{apiVersion: v1, kind: Secret, metadata: {name: s}}') as Record<string, unknown>).type,
      'Opaque',
    )
    const sc = defaulted(
      '{apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: {name: s}, provisioner: x}',
    ) as Record<string, unknown>
    assert.equal(sc.reclaimPolicy, 'Delete')
    assert.equal(sc.volumeBindingMode, 'Immediate')
    const lr = defaulted(
      '{apiVersion: v1, kind: LimitRange, metadata: {name: l}, spec: {limits: [{type: Container, max: {cpu: "2"}, min: {memory: 1Mi}}]}}',
    ) as { spec: { limits: unknown[] } }
    assert.deepEqual(lr.spec.limits[0], {
      type: 'Container',
      max: { cpu: '2' },
      min: { memory: '1Mi' },
      default: { cpu: '2' },
      defaultRequest: { cpu: '2', memory: '1Mi' },
    })
  })

  test('RBAC subjects, autoscalers, webhooks, network policies, priority classes', () => {
    const rb = defaulted(`
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb}
roleRef: {kind: ClusterRole, name: view}
subjects: [{kind: User, name: jane}, {kind: ServiceAccount, name: sa, namespace: ns}]
`) as Record<string, unknown>
    assert.deepEqual(rb.roleRef, { kind: 'ClusterRole', name: 'view', apiGroup: 'rbac.authorization.k8s.io' })
    assert.deepEqual(rb.subjects, [
      { kind: 'User', name: 'jane', apiGroup: 'rbac.authorization.k8s.io' },
      { kind: 'ServiceAccount', name: 'sa', namespace: 'ns', apiGroup: '' },
    ])
    const hpa = defaulted(`
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: h}
spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}, maxReplicas: 5, behavior: {scaleDown: {stabilizationWindowSeconds: 60}}}
`) as { spec: Record<string, unknown> }
    assert.equal(hpa.spec.minReplicas, 1)
    assert.deepEqual(hpa.spec.metrics, [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
      },
    ])
    assert.deepEqual(hpa.spec.behavior, {
      scaleUp: {
        stabilizationWindowSeconds: 0,
        selectPolicy: 'Max',
        policies: [
          { type: 'Pods', value: 4, periodSeconds: 15 },
          { type: 'Percent', value: 100, periodSeconds: 15 },
        ],
      },
      scaleDown: {
        stabilizationWindowSeconds: 60,
        selectPolicy: 'Max',
        policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
      },
    })
    const wh = defaulted(`
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: w}
webhooks: [{name: a.b.c, sideEffects: None, admissionReviewVersions: [v1], clientConfig: {service: {name: s, namespace: n}}, rules: [{operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [pods]}]}]
`) as { webhooks: unknown[] }
    assert.deepEqual(wh.webhooks[0], {
      name: 'a.b.c',
      sideEffects: 'None',
      admissionReviewVersions: ['v1'],
      clientConfig: { service: { name: 's', namespace: 'n', port: 443 } },
      rules: [
        { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: '*' },
      ],
      failurePolicy: 'Fail',
      matchPolicy: 'Equivalent',
      namespaceSelector: {},
      objectSelector: {},
      timeoutSeconds: 10,
      reinvocationPolicy: 'Never',
    })
    const np = defaulted(
      '{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: n}, spec: {podSelector: {}, egress: [{ports: [{port: 53}]}]}}',
    ) as { spec: Record<string, unknown> }
    assert.deepEqual(np.spec.policyTypes, ['Ingress', 'Egress'])
    assert.deepEqual(np.spec.egress, [{ ports: [{ port: 53, protocol: 'TCP' }] }])
    const pc = defaulted(
      '{apiVersion: scheduling.k8s.io/v1, kind: PriorityClass, metadata: {name: p}, value: 10}',
    ) as Record<string, unknown>
    assert.equal(pc.preemptionPolicy, 'PreemptLowerPriority')
  })

  test('kinds without defaults have no defaulter', () => {
    assert.equal(defaulterFor('', 'v1', 'ConfigMap'), undefined)
    assert.equal(defaulterFor('coordination.k8s.io', 'v1', 'Lease'), undefined)
  })
})
