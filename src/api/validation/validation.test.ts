import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { fieldErrorMessage } from '../field-errors.ts'
import type { StoredObject } from '../object.ts'
import { validatorFor } from './index.ts'
import { nameRuleFor, validateObjectMeta, validateObjectMetaUpdate } from './meta.ts'
import { cronScheduleError } from './workloads.ts'

function messages(group: string, resource: string, obj: Record<string, unknown>): string[] {
  const v = validatorFor(group, resource)
  assert.ok(v, `a validator for ${group}/${resource}`)
  return v.validate(obj as StoredObject).map(fieldErrorMessage)
}

function updateMessages(
  group: string,
  resource: string,
  next: Record<string, unknown>,
  prev: Record<string, unknown>,
): string[] {
  const v = validatorFor(group, resource)
  assert.ok(v)
  return v.validateUpdate(next as StoredObject, prev as StoredObject).map(fieldErrorMessage)
}

const meta = { name: 'x', namespace: 'default' }
const pod = (spec: Record<string, unknown>): Record<string, unknown> => ({ metadata: meta, spec })
const template = {
  metadata: { labels: { app: 'web' } },
  spec: { containers: [{ name: 'c', image: 'nginx' }] },
}

describe('object metadata', () => {
  const ns = { namespaced: true, name: nameRuleFor('', 'configmaps') }

  test('names follow the rule of their resource', () => {
    assert.deepEqual(
      validateObjectMeta({ name: 'Bad_Name', namespace: 'default' }, ns).map(fieldErrorMessage),
      [
        `metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      ],
    )
    const svc = { namespaced: true, name: nameRuleFor('', 'services') }
    assert.match(
      validateObjectMeta({ name: '1abc', namespace: 'd' }, svc).map(fieldErrorMessage).join(),
      /DNS-1035 label/,
    )
    const ns2 = { namespaced: false, name: nameRuleFor('', 'namespaces') }
    assert.match(
      validateObjectMeta({ name: 'a.b' }, ns2).map(fieldErrorMessage).join(),
      /must not contain dots/,
    )
    const role = { namespaced: true, name: nameRuleFor('rbac.authorization.k8s.io', 'roles') }
    assert.deepEqual(validateObjectMeta({ name: 'system:Admin', namespace: 'd' }, role), [])
    assert.deepEqual(validateObjectMeta({ name: 'a/b', namespace: 'd' }, role).map(fieldErrorMessage), [
      `metadata.name: Invalid value: "a/b": may not contain '/'`,
    ])
    const cj = { namespaced: true, name: nameRuleFor('batch', 'cronjobs') }
    assert.deepEqual(
      validateObjectMeta({ name: 'a'.repeat(53), namespace: 'd' }, cj).map(fieldErrorMessage),
      [`metadata.name: Invalid value: "${'a'.repeat(53)}": must be no more than 52 characters`],
    )
  })

  test('a generateName prefix may end in a dash; a name or generateName is required', () => {
    assert.deepEqual(validateObjectMeta({ generateName: 'web-', name: 'web-abcde', namespace: 'd' }, ns), [])
    assert.deepEqual(validateObjectMeta({ namespace: 'd' }, ns).map(fieldErrorMessage), [
      'metadata.name: Required value: name or generateName is required',
    ])
  })

  test('namespaces: required for namespaced kinds, forbidden for cluster ones', () => {
    assert.deepEqual(validateObjectMeta({ name: 'a' }, ns).map(fieldErrorMessage), [
      'metadata.namespace: Required value',
    ])
    const cluster = { namespaced: false, name: nameRuleFor('', 'nodes') }
    assert.deepEqual(validateObjectMeta({ name: 'a', namespace: 'x' }, cluster).map(fieldErrorMessage), [
      'metadata.namespace: Forbidden: not allowed on this type',
    ])
  })

  test('labels, annotations, finalizers and owner references', () => {
    const errs = validateObjectMeta(
      {
        name: 'a',
        namespace: 'd',
        labels: { 'bad key!': 'v', ok: 'bad value!' },
        annotations: { 'example.com/ok': 'anything at all' },
        finalizers: ['custom', 'example.com/fine', 'kubernetes'],
        ownerReferences: [
          { apiVersion: 'v1', kind: 'A', name: 'a', uid: '1', controller: true },
          { apiVersion: 'v1', kind: 'B', name: 'b', uid: '2', controller: true },
        ],
      },
      ns,
    ).map(fieldErrorMessage)
    assert.equal(errs.length, 4)
    assert.match(errs[0] ?? '', /^metadata\.labels: Invalid value: "bad key!": name part must consist of/)
    assert.match(
      errs[1] ?? '',
      /^metadata\.labels: Invalid value: "bad value!": a valid label must be an empty string/,
    )
    assert.equal(
      errs[2],
      'metadata.ownerReferences: Invalid value: [{"apiVersion":"v1","kind":"A","name":"a","uid":"1","controller":true},{"apiVersion":"v1","kind":"B","name":"b","uid":"2","controller":true}]: Only one reference can have Controller set to true. Found "true" in references for A/a and B/b',
    )
    assert.equal(
      errs[3],
      'metadata.finalizers: Invalid value: "custom": name is neither a standard finalizer name nor is it fully qualified',
    )
  })

  test('updates keep name, namespace, uid and creation time; no finalizers added while deleting', () => {
    const prev = {
      name: 'a',
      namespace: 'd',
      uid: 'u',
      creationTimestamp: 't',
      deletionTimestamp: 'x',
      finalizers: ['a/b'],
    }
    assert.deepEqual(validateObjectMetaUpdate({ ...prev }, prev), [])
    assert.deepEqual(
      validateObjectMetaUpdate({ ...prev, name: 'b', uid: 'v', finalizers: ['a/b', 'c/d'] }, prev).map(
        fieldErrorMessage,
      ),
      [
        'metadata.name: Invalid value: "b": field is immutable',
        'metadata.uid: Invalid value: "v": field is immutable',
        'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"c/d"}',
      ],
    )
  })
})

describe('pods', () => {
  test('a valid pod has no errors', () => {
    assert.deepEqual(messages('', 'pods', pod(template.spec)), [])
  })

  test('containers need names and images; names are unique', () => {
    assert.deepEqual(messages('', 'pods', pod({ containers: [] })), ['spec.containers: Required value'])
    assert.deepEqual(
      messages(
        '',
        'pods',
        pod({ containers: [{ name: 'c', image: '' }, { name: 'c', image: 'x' }, { image: 'y' }] }),
      ),
      [
        'spec.containers[0].image: Required value',
        'spec.containers[1].name: Duplicate value: "c"',
        'spec.containers[2].name: Required value',
      ],
    )
  })

  test('ports, volumes and resources', () => {
    const errs = messages(
      '',
      'pods',
      pod({
        volumes: [{ name: 'data', emptyDir: {} }, { name: 'none' }],
        containers: [
          {
            name: 'c',
            image: 'i',
            ports: [
              { containerPort: 70000, protocol: 'HTTP' },
              { containerPort: 80, name: 'Web_Port' },
            ],
            volumeMounts: [{ name: 'missing', mountPath: '/m' }],
            resources: { requests: { cpu: '2' }, limits: { cpu: '1', memory: 'lots' } },
          },
        ],
      }),
    )
    assert.deepEqual(errs, [
      'spec.volumes[1]: Required value: must specify a volume type',
      'spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
      'spec.containers[0].ports[1].name: Invalid value: "Web_Port": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      'spec.containers[0].volumeMounts[0].name: Not found: "missing"',
      'spec.containers[0].resources.limits[memory]: Invalid value: "lots": quantities must match the regular expression \'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$\'',
      'spec.containers[0].resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu limit of 1',
    ])
  })

  test('policies must be supported values', () => {
    assert.deepEqual(messages('', 'pods', pod({ ...template.spec, restartPolicy: 'Sometimes' })), [
      'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ])
  })

  test('an update may change images but not the rest of the spec', () => {
    const prev = pod(template.spec)
    const image = pod({ containers: [{ name: 'c', image: 'nginx:2' }] })
    assert.deepEqual(updateMessages('', 'pods', image, prev), [])
    const renamed = pod({ containers: [{ name: 'd', image: 'nginx' }] })
    assert.equal(updateMessages('', 'pods', renamed, prev).length, 1)
    assert.match(
      updateMessages('', 'pods', renamed, prev)[0] ?? '',
      /^spec: Forbidden: pod updates may not change fields other than/,
    )
  })

  test('an update validates the spec it changes, and ratchets the one it leaves as stored', () => {
    // A spec the rules refuse now, stored before they did: a write that leaves it alone passes.
    const stored = pod({ containers: [{ name: 'c', image: 'nginx' }], restartPolicy: 'Sometimes' })
    const relabelled = { ...stored, metadata: { ...meta, labels: { a: 'b' } } }
    assert.deepEqual(updateMessages('', 'pods', relabelled, stored), [])
    // Changing it (an allowed change, the image) validates all of the new spec again.
    const image = pod({ containers: [{ name: 'c', image: 'nginx:2' }], restartPolicy: 'Sometimes' })
    assert.deepEqual(updateMessages('', 'pods', image, stored), [
      'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ])
    // A forbidden change to a valid spec: the new spec's own errors, then the update's.
    const valid = pod(template.spec)
    const bad = pod({ containers: [{ name: 'c', image: 'nginx' }], restartPolicy: 'Sometimes' })
    const errors = updateMessages('', 'pods', bad, valid)
    assert.equal(errors.length, 2)
    assert.match(errors[0] ?? '', /^spec.restartPolicy: Unsupported value/)
    assert.match(errors[1] ?? '', /^spec: Forbidden: pod updates may not change fields other than/)
  })
})

describe('services', () => {
  const svc = (spec: Record<string, unknown>): Record<string, unknown> => ({ metadata: meta, spec })

  test('ports are required, named when several, and unique', () => {
    assert.deepEqual(messages('', 'services', svc({})), ['spec.ports: Required value'])
    assert.deepEqual(messages('', 'services', svc({ clusterIP: 'None' })), [])
    assert.deepEqual(
      messages(
        '',
        'services',
        svc({ ports: [{ port: 80, name: 'a' }, { port: 81 }, { port: 0, name: 'a' }] }),
      ),
      [
        'spec.ports[1].name: Required value',
        'spec.ports[2].name: Duplicate value: "a"',
        'spec.ports[2].port: Invalid value: 0: must be between 1 and 65535, inclusive',
      ],
    )
  })

  test('nodePorts only for NodePort and LoadBalancer; the cluster IP never changes', () => {
    assert.deepEqual(
      messages('', 'services', svc({ type: 'ClusterIP', ports: [{ port: 80, nodePort: 30001 }] })),
      ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
    )
    assert.deepEqual(
      updateMessages(
        '',
        'services',
        svc({ clusterIP: '10.0.0.2', clusterIPs: ['10.0.0.2'], ports: [{ port: 80 }] }),
        svc({ clusterIP: '10.0.0.1', clusterIPs: ['10.0.0.1'], ports: [{ port: 80 }] }),
      ),
      ['spec.clusterIPs[0]: Invalid value: []string{"10.0.0.2"}: may not change once set'],
    )
  })
})

describe('workloads', () => {
  const dep = (spec: Record<string, unknown>): Record<string, unknown> => ({ metadata: meta, spec })

  test('a deployment selects its own template', () => {
    assert.deepEqual(
      messages('apps', 'deployments', dep({ selector: { matchLabels: { app: 'web' } }, template })),
      [],
    )
    assert.deepEqual(
      messages('apps', 'deployments', dep({ selector: { matchLabels: { app: 'db' } }, template })),
      [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
      ],
    )
    assert.deepEqual(messages('apps', 'deployments', dep({ template })), ['spec.selector: Required value'])
  })

  test('rolling update bounds', () => {
    const errs = messages(
      'apps',
      'deployments',
      dep({
        selector: { matchLabels: { app: 'web' } },
        template,
        replicas: -1,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } },
      }),
    )
    assert.deepEqual(errs, [
      'spec.replicas: Invalid value: -1: must be greater than or equal to 0',
      'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "0%": may not be 0 when `maxSurge` is 0',
    ])
  })

  test('the selector of a deployment is immutable', () => {
    const a = dep({ selector: { matchLabels: { app: 'web' } }, template })
    const b = dep({
      selector: { matchLabels: { app: 'web', tier: 'x' } },
      template: { ...template, metadata: { labels: { app: 'web', tier: 'x' } } },
    })
    assert.deepEqual(updateMessages('apps', 'deployments', b, a), [
      'spec.selector: Invalid value: {"matchLabels":{"app":"web","tier":"x"}}: field is immutable',
    ])
  })

  test('jobs run pods that do not restart always; cron schedules parse', () => {
    const job = {
      metadata: meta,
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { ...template, spec: { ...template.spec, restartPolicy: 'Always' } },
      },
    }
    assert.deepEqual(messages('batch', 'jobs', job), [
      // As Kubernetes: Always (what an absent restartPolicy defaults to) reads as missing.
      'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"',
    ])
    assert.equal(cronScheduleError('*/5 * * * *'), undefined)
    assert.equal(cronScheduleError('@hourly'), undefined)
    assert.equal(cronScheduleError('0 0 * JAN-MAR mon'), undefined)
    assert.equal(cronScheduleError('61 * * * *'), 'end of range (61) above maximum (59): 61')
    assert.equal(cronScheduleError('* * *'), 'expected exactly 5 fields, found 3: * * *')
    assert.deepEqual(
      messages('batch', 'cronjobs', {
        metadata: meta,
        spec: {
          schedule: 'every day',
          jobTemplate: { spec: { template: { spec: { ...template.spec, restartPolicy: 'Never' } } } },
        },
      }),
      ['spec.schedule: Invalid value: "every day": expected exactly 5 fields, found 2: every day'],
    )
  })

  test('statefulsets change only what Kubernetes lets change', () => {
    const s = { selector: { matchLabels: { app: 'web' } }, template, serviceName: 'web' }
    assert.deepEqual(updateMessages('apps', 'statefulsets', dep({ ...s, replicas: 3 }), dep(s)), [])
    assert.match(
      updateMessages('apps', 'statefulsets', dep({ ...s, serviceName: 'db' }), dep(s))[0] ?? '',
      /^spec: Forbidden: updates to statefulset spec for fields other than 'replicas'/,
    )
  })
})

describe('other groups', () => {
  test('RBAC: rules need verbs; a binding cannot change its role', () => {
    assert.deepEqual(
      messages('rbac.authorization.k8s.io', 'roles', {
        metadata: meta,
        rules: [{ apiGroups: [''], resources: ['pods'] }],
      }),
      ['rules[0].verbs: Required value: verbs must contain at least one value'],
    )
    const rb = (name: string): Record<string, unknown> => ({
      metadata: meta,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'jane' }],
    })
    assert.deepEqual(messages('rbac.authorization.k8s.io', 'rolebindings', rb('view')), [])
    assert.deepEqual(updateMessages('rbac.authorization.k8s.io', 'rolebindings', rb('edit'), rb('view')), [
      'roleRef: Invalid value: {"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"edit"}: cannot change roleRef',
    ])
  })

  test('disruption budgets, autoscalers, priority classes, ingresses, webhooks', () => {
    assert.deepEqual(
      messages('policy', 'poddisruptionbudgets', {
        metadata: meta,
        spec: { minAvailable: 1, maxUnavailable: '150%' },
      }),
      [
        'spec: Invalid value: {"minAvailable":1,"maxUnavailable":"150%"}: minAvailable and maxUnavailable cannot be both set',
        'spec.maxUnavailable: Invalid value: "150%": must not be greater than 100%',
      ],
    )
    assert.deepEqual(
      messages('policy', 'poddisruptionbudgets', {
        metadata: meta,
        spec: { maxUnavailable: 1 },
        status: { disruptionsAllowed: -1, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2 },
      }),
      ['status.disruptionsAllowed: Invalid value: -1: must be greater than or equal to 0'],
    )
    assert.deepEqual(
      messages('autoscaling', 'horizontalpodautoscalers', {
        metadata: meta,
        spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, minReplicas: 5, maxReplicas: 2 },
      }),
      ['spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`'],
    )
    assert.deepEqual(
      messages('scheduling.k8s.io', 'priorityclasses', { metadata: { name: 'high' }, value: 2e9 }),
      ['value: Forbidden: maximum allowed value of a user defined priority is 1000000000'],
    )
    assert.deepEqual(
      messages('scheduling.k8s.io', 'priorityclasses', { metadata: { name: 'system-mine' }, value: 1 }),
      [
        "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class",
      ],
    )
    assert.deepEqual(
      messages('scheduling.k8s.io', 'priorityclasses', {
        metadata: { name: 'system-node-critical' },
        value: 5,
      }),
      [
        "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: value of system-node-critical PriorityClass must be 2000001000",
      ],
    )
    assert.deepEqual(
      messages('scheduling.k8s.io', 'priorityclasses', {
        metadata: { name: 'system-cluster-critical' },
        value: 2_000_000_000,
      }),
      [],
    )
    assert.deepEqual(
      messages('networking.k8s.io', 'ingresses', {
        metadata: meta,
        spec: {
          rules: [
            {
              host: 'example.com',
              http: { paths: [{ path: '/', backend: { service: { name: 'web', port: { number: 80 } } } }] },
            },
          ],
        },
      }),
      ['spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified'],
    )
    assert.deepEqual(
      messages('admissionregistration.k8s.io', 'validatingwebhookconfigurations', {
        metadata: { name: 'w' },
        webhooks: [{ name: 'hook', clientConfig: {}, sideEffects: 'None' }],
      }),
      [
        'webhooks[0].name: Invalid value: "hook": should be a domain with at least three segments separated by dots',
        'webhooks[0].admissionReviewVersions: Required value: must specify one of v1, v1beta1',
        'webhooks[0].clientConfig: Required value: exactly one of url or service is required',
      ],
    )
  })
})
