import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApiServer, type TestApiServer } from '../support/cluster.ts'

/**
 * What a status endpoint lets through of metadata, kind by kind as Kubernetes' status strategies:
 * a node's labels and annotations (the kubelet reconciles them with its status patch), a pod's
 * all but its owners, and for the other kinds none of labels, annotations or owners.
 */
describe('status subresources and metadata', () => {
  let c: TestApiServer
  before(async () => {
    c = await startTestApiServer()
  })
  after(async () => {
    await c.stop()
  })

  const call = async (method: string, path: string, body?: unknown, type = 'application/json') => {
    const r = await c.request(method, path, {
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      headers: { 'Content-Type': type, Accept: 'application/json' },
    })
    const parsed = JSON.parse(r.body.toString()) as { metadata?: Record<string, unknown> }
    assert.ok(r.code < 300, `${method} ${path}: ${r.code} ${r.body.toString()}`)
    return parsed
  }
  const merge = 'application/merge-patch+json'
  const owner = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    name: 'o',
    uid: '00000000-0000-0000-0000-000000000001',
  }

  test('a node status patch changes its labels and annotations', async () => {
    await call('POST', '/api/v1/nodes', { metadata: { name: 'n1' } })
    const n = await call(
      'PATCH',
      '/api/v1/nodes/n1/status',
      {
        metadata: { labels: { 'kubernetes.io/os': 'linux' }, annotations: { a: 'b' } },
        status: { phase: 'Running' },
      },
      merge,
    )
    assert.deepEqual(
      [n.metadata?.labels, n.metadata?.annotations],
      [{ 'kubernetes.io/os': 'linux' }, { a: 'b' }],
    )
  })

  test('a pod status patch changes its labels but not its owners', async () => {
    await call('POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'p1' },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    })
    const p = await call(
      'PATCH',
      '/api/v1/namespaces/default/pods/p1/status',
      { metadata: { labels: { x: 'y' }, ownerReferences: [owner] }, status: { message: 'hi' } },
      merge,
    )
    assert.deepEqual(p.metadata?.labels, { x: 'y' })
    assert.equal(p.metadata?.ownerReferences, undefined)
  })

  test('a pod status write without observedGenerations keeps the stored ones', async () => {
    await call('POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'observed' },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    })
    const status = '/api/v1/namespaces/default/pods/observed/status'
    const condition = (type: string, s: string, generation?: number) => ({
      type,
      status: s,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    })
    await call(
      'PATCH',
      status,
      {
        status: {
          observedGeneration: 1,
          conditions: [condition('Ready', 'True', 1), condition('Initialized', 'True')],
        },
      },
      merge,
    )
    const p = (await call(
      'PATCH',
      status,
      {
        status: {
          observedGeneration: null,
          conditions: [
            condition('Initialized', 'True'),
            condition('Ready', 'False'),
            condition('Ready', 'False'),
          ],
        },
      },
      merge,
    )) as {
      status: { observedGeneration?: number; conditions: { type: string; observedGeneration?: number }[] }
    }
    assert.equal(p.status.observedGeneration, 1)
    // The first Ready takes the stored Ready's; the second has none to take.
    assert.deepEqual(
      p.status.conditions.map((c) => [c.type, c.observedGeneration]),
      [
        ['Initialized', undefined],
        ['Ready', 1],
        ['Ready', undefined],
      ],
    )
  })

  test('a deployment status patch changes neither labels nor owners', async () => {
    await call('POST', '/apis/apps/v1/namespaces/default/deployments', {
      metadata: { name: 'd1', labels: { app: 'd' } },
      spec: {
        selector: { matchLabels: { app: 'd' } },
        template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      },
    })
    const d = await call(
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/d1/status',
      { metadata: { labels: { app: 'other' }, ownerReferences: [owner] }, status: { observedGeneration: 1 } },
      merge,
    )
    assert.deepEqual(d.metadata?.labels, { app: 'd' })
    assert.equal(d.metadata?.ownerReferences, undefined)
  })

  test('a pod status update is validated as ValidatePodStatusUpdate does it, not its spec again', async () => {
    await call('POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'once' },
      spec: {
        restartPolicy: 'Never',
        initContainers: [{ name: 'side', image: 'i', restartPolicy: 'Always' }],
        containers: [{ name: 'c', image: 'i' }],
      },
    })
    const status = '/api/v1/namespaces/default/pods/once/status'
    const done = { terminated: { exitCode: 0, reason: 'Completed' } }
    const running = { running: { startedAt: '2026-01-01T00:00:00Z' } }
    const containers = (c: unknown, side: unknown) => ({
      status: {
        containerStatuses: [{ name: 'c', image: 'i', imageID: '', ready: false, restartCount: 0, state: c }],
        initContainerStatuses: [
          { name: 'side', image: 'i', imageID: '', ready: false, restartCount: 0, state: side },
        ],
      },
    })
    await call('PATCH', status, containers(done, done), merge)
    const refused = async (body: unknown, field: string, message: RegExp) => {
      const r = await c.request('PATCH', status, {
        body: JSON.stringify(body),
        headers: { 'Content-Type': merge, Accept: 'application/json' },
      })
      const s = JSON.parse(r.body.toString()) as {
        code: number
        message: string
        details: { causes: { field: string }[] }
      }
      assert.equal(r.code, 422, r.body.toString())
      assert.match(s.message, message)
      assert.deepEqual(
        s.details.causes.map((x) => x.field),
        [field],
      )
    }
    // Under restartPolicy Never a terminated container stays so; a sidecar may start again.
    await refused(
      containers(running, done),
      'status.containerStatuses[0].state',
      /^Pod "once" is invalid: status\.containerStatuses\[0\]\.state: Forbidden: may not be transitioned to non-terminated state$/,
    )
    await call('PATCH', status, containers(done, running), merge)
    await refused(
      { status: { nominatedNodeName: 'Not_A_Node' } },
      'status.nominatedNodeName',
      /status\.nominatedNodeName: Invalid value: "Not_A_Node": a lowercase RFC 1123 subdomain/,
    )
    await refused(
      { status: { qosClass: 'Guaranteed' } },
      'status.qosClass',
      /status\.qosClass: Invalid value: "Guaranteed": field is immutable/,
    )
    // A status without a QoS class keeps the stored one (Kubernetes backfills it).
    const kept = (await call('PATCH', status, { status: { qosClass: null } }, merge)) as {
      status?: { qosClass?: string }
    }
    assert.equal(kept.status?.qosClass, 'BestEffort')
    // Custom condition types are qualified names (upstream names the field `Type`); generations
    // are not negative.
    await refused(
      { status: { conditions: [{ type: 'not a name', status: 'True' }] } },
      'status.conditions[0].Type',
      /status\.conditions\[0\]\.Type: Invalid value: "not a name": name part must consist of alphanumeric characters/,
    )
    await refused(
      { status: { conditions: [{ type: 'Ready', status: 'True', observedGeneration: -1 }] } },
      'status.conditions[0].observedGeneration',
      /status\.conditions\[0\]\.observedGeneration: Invalid value: -1: must be a non-negative integer$/,
    )
    await refused(
      { status: { observedGeneration: -2 } },
      'status.observedGeneration',
      /^Pod "once" is invalid: status\.observedGeneration: Invalid value: -2: must be a non-negative integer$/,
    )
    await call(
      'PATCH',
      status,
      { status: { conditions: [{ type: 'example.com/Custom', status: 'True' }] } },
      merge,
    )
    // A claim status names a claim of the spec.
    await refused(
      { status: { resourceClaimStatuses: [{ name: 'gpu', resourceClaimName: 'once-gpu' }] } },
      'status.resourceClaimStatuses[0].name',
      /status\.resourceClaimStatuses\[0\]\.name: Invalid value: "gpu": must match the name of an entry in `spec\.resourceClaims`$/,
    )
    // An ephemeral container never runs again.
    const ephemeral = (state: unknown) => ({
      status: {
        ephemeralContainerStatuses: [
          { name: 'debug', image: 'i', imageID: '', ready: false, restartCount: 0, state },
        ],
      },
    })
    await call('PATCH', status, ephemeral(done), merge)
    await refused(
      ephemeral(running),
      'status.ephemeralContainerStatuses[0].state',
      /status\.ephemeralContainerStatuses\[0\]\.state: Forbidden: may not be transitioned to non-terminated state$/,
    )
    // The user a container runs as has IDs in range.
    const containerStatus = (extra: Record<string, unknown>) => ({
      status: {
        containerStatuses: [
          { name: 'c', image: 'i', imageID: '', ready: false, restartCount: 0, state: done, ...extra },
        ],
      },
    })
    await refused(
      containerStatus({ user: { linux: { uid: -1, gid: 0 } } }),
      'status.containerStatuses[0].user.linux.uid',
      /status\.containerStatuses\[0\]\.user\.linux\.uid: Invalid value: -1: must be between 0 and 2147483647, inclusive$/,
    )
    // What 1.35 leaves out while its gates are at their defaults: every container's
    // allocatedResourcesStatus (ResourceHealthStatus), even one its validation would refuse, and
    // the pod-level resources, the extended resources' claim and the image volumes' digests,
    // which the stored status lacks.
    const written = (await call(
      'PATCH',
      status,
      {
        status: {
          ...containerStatus({
            allocatedResourcesStatus: [
              { name: 'example.com/gpu', resources: [{ resourceID: 'a', health: 'Sick' }] },
            ],
            volumeMounts: [{ name: 'model', mountPath: '/model', volumeStatus: { image: { imageRef: '' } } }],
          }).status,
          ephemeralContainerStatuses: [
            {
              name: 'debug',
              image: 'i',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: done,
              allocatedResourcesStatus: [{ name: 'cpu' }],
            },
          ],
          resources: { requests: { cpu: '1' } },
          allocatedResources: { cpu: '1' },
          extendedResourceClaimStatus: {
            resourceClaimName: 'once-extended',
            requestMappings: [{ containerName: 'c', resourceName: 'example.com/gpu', requestName: 'r' }],
          },
        },
      },
      merge,
    )) as { status: Record<string, unknown> & { containerStatuses: Record<string, unknown>[] } }
    assert.equal(written.status.containerStatuses[0]?.name, 'c')
    assert.equal(written.status.containerStatuses[0]?.allocatedResourcesStatus, undefined)
    // (ImageVolumeWithDigest: the mount stays, without the digest its validation would refuse.)
    assert.deepEqual(written.status.containerStatuses[0]?.volumeMounts, [
      { name: 'model', mountPath: '/model' },
    ])
    assert.equal(
      (written.status.ephemeralContainerStatuses as Record<string, unknown>[])[0]?.allocatedResourcesStatus,
      undefined,
    )
    for (const field of ['resources', 'allocatedResources', 'extendedResourceClaimStatus'])
      assert.equal(written.status[field], undefined, field)
    // Once bound, a pod takes no nomination (ClearingNominatedNodeNameAfterBinding).
    await call('POST', '/api/v1/namespaces/default/pods/once/binding', {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: 'once' },
      target: { kind: 'Node', name: 'n1' },
    })
    await refused(
      { status: { nominatedNodeName: 'n2' } },
      'status.nominatedNodeName',
      /^Pod "once" is invalid: status\.nominatedNodeName: Forbidden: may not be set on pods that are already bound to a node$/,
    )
  })

  test('a pod status update has valid pod and host IPs, podIP winning over a podIPs that disagrees', async () => {
    await call('POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'addressed' },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    })
    const status = '/api/v1/namespaces/default/pods/addressed/status'
    const refused = async (body: unknown, message: string) => {
      const r = await c.request('PATCH', status, {
        body: JSON.stringify(body),
        headers: { 'Content-Type': merge, Accept: 'application/json' },
      })
      assert.equal(r.code, 422, r.body.toString())
      assert.equal((JSON.parse(r.body.toString()) as { message: string }).message, message)
    }
    await refused(
      { status: { podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }] } },
      'Pod "addressed" is invalid: status.podIPs: Invalid value: []core.PodIP{core.PodIP{IP:"10.0.0.1"}, core.PodIP{IP:"10.0.0.2"}}: may specify no more than one IP for each IP family',
    )
    await refused(
      { status: { podIP: '10.0.0.300' } },
      'Pod "addressed" is invalid: status.podIPs[0]: Invalid value: "10.0.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
    )
    await refused(
      { status: { hostIP: '192.168.0.1', hostIPs: [{ ip: '192.168.0.2' }] } },
      'Pod "addressed" is invalid: status.hostIPs[0].ip: Invalid value: "192.168.0.2": must be equal to `hostIP`',
    )
    type Addressed = { status?: { podIP?: string; podIPs?: { ip: string }[] } }
    const dual = (await call(
      'PATCH',
      status,
      { status: { podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }] } },
      merge,
    )) as Addressed
    assert.deepEqual(dual.status?.podIPs, [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }])
    // A podIP that is not podIPs[0] is the pod's IP, alone (as the v1 conversion makes it).
    const moved = (await call('PATCH', status, { status: { podIP: '10.0.0.9' } }, merge)) as Addressed
    assert.equal(moved.status?.podIP, '10.0.0.9')
    assert.deepEqual(moved.status?.podIPs, [{ ip: '10.0.0.9' }])
  })
})
