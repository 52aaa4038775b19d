import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Pod } from '../../src/api/generated/types/core-v1.ts'
import { issueCertificate, type KeyPair } from '../../src/pki/index.ts'
import { kubectlMissing, startTestApiServer, type TestApiServer } from '../support/cluster.ts'
import { until } from '../support/until.ts'

/**
 * The Node authorizer and NodeRestriction on an in-process apiserver: clients with the
 * certificates kubelets have (CN=system:node:<name>, O=system:nodes) read what their pods use and
 * nothing else, write their own Node, Lease and pods' status only; the graph follows pods as they
 * come and go.
 */

interface Reply {
  code: number
  body: Record<string, unknown>
}

const ns = 'default'

const pod = (name: string, nodeName: string, secret: string, configMap: string): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns },
  spec: {
    nodeName,
    containers: [
      {
        name: 'app',
        image: 'registry.k8s.io/pause:3.10',
        env: [{ name: 'CONFIG', valueFrom: { configMapKeyRef: { name: configMap, key: 'k' } } }],
      },
    ],
    volumes: [{ name: 'creds', secret: { secretName: secret } }],
  },
})

describe('Node authorizer and NodeRestriction', () => {
  let api: TestApiServer
  const certs = new Map<string, KeyPair>()

  /** One HTTPS request with the given client certificate (or the admin's), JSON in and out. */
  const call = (
    who: KeyPair | undefined,
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ) =>
    new Promise<Reply>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body)
      const req = request(
        new URL(path, api.server.url),
        {
          method,
          ca: api.server.caPem,
          ...(who ? { cert: who.certPem, key: who.keyPem } : {}),
          headers: payload
            ? {
                'Content-Type': contentType ?? 'application/json',
                'Content-Length': Buffer.byteLength(payload),
              }
            : {},
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (d: Buffer) => chunks.push(d))
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString()
            resolve({
              code: res.statusCode ?? 0,
              body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
            })
          })
        },
      )
      req.on('error', reject)
      req.end(payload)
    })
  const admin = async (method: string, path: string, body?: unknown, contentType?: string) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const r = await api.request(method, path, {
      ...(payload !== undefined ? { body: payload } : {}),
      // With a length: Node sends a DELETE's body unframed otherwise.
      headers: {
        'Content-Type': contentType ?? 'application/json',
        ...(payload !== undefined ? { 'Content-Length': String(Buffer.byteLength(payload)) } : {}),
      },
    })
    const text = r.body.toString()
    return { code: r.code, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }
  }
  const asNode = (node: string) => {
    const cert = certs.get(node)
    if (!cert) throw new Error(`no certificate for ${node}`)
    return (method: string, path: string, body?: unknown, contentType?: string) =>
      call(cert, method, path, body, contentType)
  }
  const n1 = (method: string, path: string, body?: unknown, contentType?: string) =>
    asNode('n1')(method, path, body, contentType)
  const merge = 'application/merge-patch+json'
  const created = (r: Reply) => {
    assert.ok(r.code === 200 || r.code === 201, JSON.stringify(r.body))
    return r.body
  }
  const messageOf = (r: Reply) => `${r.code} ${String(r.body.message)}`

  before(async () => {
    api = await startTestApiServer()
    const pki = join(api.dataDir, 'pki')
    const ca = {
      certPem: readFileSync(join(pki, 'ca.crt'), 'utf8'),
      keyPem: readFileSync(join(pki, 'ca.key'), 'utf8'),
    }
    for (const node of ['n1', 'n2']) {
      certs.set(
        node,
        await issueCertificate(ca, {
          subject: { commonName: `system:node:${node}`, organizations: ['system:nodes'] },
          usage: 'client',
        }),
      )
      created(
        await admin('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: node } }),
      )
    }
    for (const name of ['s1', 's2']) {
      created(
        await admin('POST', `/api/v1/namespaces/${ns}/secrets`, {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name },
          stringData: { k: name },
        }),
      )
    }
    for (const name of ['c1', 'c2']) {
      created(
        await admin('POST', `/api/v1/namespaces/${ns}/configmaps`, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name },
          data: { k: name },
        }),
      )
    }
    created(await admin('POST', `/api/v1/namespaces/${ns}/pods`, pod('p1', 'n1', 's1', 'c1')))
    created(await admin('POST', `/api/v1/namespaces/${ns}/pods`, pod('p2', 'n2', 's2', 'c2')))
    await until(
      async () => (await n1('GET', `/api/v1/namespaces/${ns}/secrets/s1`)).code === 200,
      10_000,
      'the graph to link s1 to n1',
    )
  })

  after(async () => {
    await api?.stop()
  })

  test('a node reads the secret and config map its pod uses, not those of another node’s pod', async () => {
    assert.equal((await n1('GET', `/api/v1/namespaces/${ns}/secrets/s1`)).code, 200)
    assert.equal((await n1('GET', `/api/v1/namespaces/${ns}/configmaps/c1`)).code, 200)
    const refused = await n1('GET', `/api/v1/namespaces/${ns}/secrets/s2`)
    assert.deepEqual(refused.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `secrets "s2" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" in the namespace "${ns}": no relationship found between node 'n1' and this object`,
      reason: 'Forbidden',
      details: { name: 's2', kind: 'secrets' },
      code: 403,
    })
    assert.equal((await n1('GET', `/api/v1/namespaces/${ns}/configmaps/c2`)).code, 403)
    assert.equal(
      messageOf(await n1('GET', `/api/v1/namespaces/${ns}/secrets`)),
      `403 secrets is forbidden: User "system:node:n1" cannot list resource "secrets" in API group "" in the namespace "${ns}": No Object name found`,
    )
    // The other node sees the mirror image.
    assert.equal((await asNode('n2')('GET', `/api/v1/namespaces/${ns}/secrets/s2`)).code, 200)
    assert.equal((await asNode('n2')('GET', `/api/v1/namespaces/${ns}/secrets/s1`)).code, 403)
  })

  test('the graph follows pods: a new pod on the node grants its secret, deleting it takes it back', async () => {
    const path = `/api/v1/namespaces/${ns}/secrets/s2`
    created(await admin('POST', `/api/v1/namespaces/${ns}/pods`, pod('p3', 'n1', 's2', 'c2')))
    await until(async () => (await n1('GET', path)).code === 200, 10_000, 'n1 to be allowed s2')
    assert.equal((await n1('GET', `/api/v1/namespaces/${ns}/configmaps/c2`)).code, 200)
    const deleted = await admin('DELETE', `/api/v1/namespaces/${ns}/pods/p3`, {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      gracePeriodSeconds: 0,
    })
    assert.equal(deleted.code, 200, JSON.stringify(deleted.body))
    await until(async () => (await n1('GET', path)).code === 403, 10_000, 'n1 to be refused s2 again')
    assert.equal((await asNode('n2')('GET', path)).code, 200, 'p2 still grants it to n2')
  })

  test('a node reads and writes its own Node only', async () => {
    assert.equal((await n1('GET', '/api/v1/nodes/n1')).code, 200)
    assert.equal(
      messageOf(await n1('GET', '/api/v1/nodes/n2')),
      `403 nodes "n2" is forbidden: User "system:node:n1" cannot get resource "nodes" in API group "" at the cluster scope: node 'n1' cannot read 'n2', only its own Node object`,
    )
    assert.equal(
      messageOf(await n1('GET', '/api/v1/nodes')),
      `403 nodes is forbidden: User "system:node:n1" cannot list resource "nodes" in API group "" at the cluster scope: node 'n1' cannot read all nodes, only its own Node object`,
    )
    // The kubelet's informer on its own Node: a list by metadata.name.
    const own = await n1('GET', '/api/v1/nodes?fieldSelector=metadata.name%3Dn1')
    assert.equal(own.code, 200)
    assert.deepEqual(
      (own.body.items as { metadata: { name: string } }[]).map((n) => n.metadata.name),
      ['n1'],
    )
    const ready = {
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
            lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
            lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          },
        ],
      },
    }
    const mine = await n1('PATCH', '/api/v1/nodes/n1/status', ready, merge)
    assert.equal(mine.code, 200, JSON.stringify(mine.body))
    assert.equal(
      messageOf(await n1('PATCH', '/api/v1/nodes/n2/status', ready, merge)),
      '403 nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"',
    )
    assert.equal(
      messageOf(await n1('PATCH', '/api/v1/nodes/n2', { metadata: { labels: { a: 'b' } } }, merge)),
      '403 nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"',
    )
  })

  test('a node labels itself with kubelet labels, never with node-restriction.kubernetes.io ones', async () => {
    const ok = await n1(
      'PATCH',
      '/api/v1/nodes/n1',
      { metadata: { labels: { 'kubernetes.io/hostname': 'n1', 'example.com/rack': 'r1' } } },
      merge,
    )
    assert.equal(ok.code, 200, JSON.stringify(ok.body))
    assert.equal(
      messageOf(
        await n1(
          'PATCH',
          '/api/v1/nodes/n1',
          { metadata: { labels: { 'node-restriction.kubernetes.io/x': 'y' } } },
          merge,
        ),
      ),
      '403 nodes "n1" is forbidden: is not allowed to modify labels: node-restriction.kubernetes.io/x',
    )
    // An administrator may; the node then may not take it off, nor change its taints.
    const labelled = await admin(
      'PATCH',
      '/api/v1/nodes/n1',
      {
        metadata: { labels: { 'node-restriction.kubernetes.io/x': 'y' } },
        spec: { taints: [{ key: 'k', effect: 'NoSchedule' }] },
      },
      merge,
    )
    assert.equal(labelled.code, 200, JSON.stringify(labelled.body))
    assert.equal(
      messageOf(
        await n1(
          'PATCH',
          '/api/v1/nodes/n1',
          { metadata: { labels: { 'node-restriction.kubernetes.io/x': null } } },
          merge,
        ),
      ),
      '403 nodes "n1" is forbidden: is not allowed to modify labels: node-restriction.kubernetes.io/x',
    )
    assert.equal(
      messageOf(await n1('PATCH', '/api/v1/nodes/n1', { spec: { taints: null } }, merge)),
      '403 nodes "n1" is forbidden: node "n1" is not allowed to modify taints',
    )
  })

  test('a node keeps its own Lease in kube-node-lease and no other', async () => {
    const lease = (name: string) => ({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace: 'kube-node-lease' },
      spec: { holderIdentity: name, leaseDurationSeconds: 40 },
    })
    const leases = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases'
    const made = created(await n1('POST', leases, lease('n1')))
    const renewed = await n1('PUT', `${leases}/n1`, {
      ...made,
      spec: { ...(made.spec as object), renewTime: '2025-01-01T00:00:00.000000Z' },
    })
    assert.equal(renewed.code, 200, JSON.stringify(renewed.body))
    assert.equal(
      messageOf(await n1('POST', leases, lease('n2'))),
      '403 leases.coordination.k8s.io "n2" is forbidden: can only access node lease with the same name as the requesting node',
    )
    created(await asNode('n2')('POST', leases, lease('n2')))
    assert.equal(
      messageOf(await n1('PATCH', `${leases}/n2`, { spec: { holderIdentity: 'n1' } }, merge)),
      '403 leases.coordination.k8s.io "n2" is forbidden: User "system:node:n1" cannot patch resource "leases" in API group "coordination.k8s.io" in the namespace "kube-node-lease": can only access node lease with the same name as the requesting node',
    )
  })

  test('a node sets the status of its own pods only, lists only its pods, evicts only its pods', async () => {
    const running = { status: { phase: 'Running', podIP: '10.244.1.5' } }
    const mine = await n1('PATCH', `/api/v1/namespaces/${ns}/pods/p1/status`, running, merge)
    assert.equal(mine.code, 200, JSON.stringify(mine.body))
    assert.equal((mine.body.status as { phase: string }).phase, 'Running')
    assert.equal(
      messageOf(await n1('PATCH', `/api/v1/namespaces/${ns}/pods/p2/status`, running, merge)),
      '403 pods "p2" is forbidden: node "n1" can only update pod status for pods with spec.nodeName set to itself',
    )
    const listed = await n1('GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dn1')
    assert.equal(listed.code, 200)
    assert.deepEqual(
      (listed.body.items as { metadata: { name: string } }[]).map((p) => p.metadata.name),
      ['p1'],
    )
    assert.equal(
      messageOf(await n1('GET', '/api/v1/pods')),
      '403 pods is forbidden: User "system:node:n1" cannot list resource "pods" in API group "" at the cluster scope: can only list/watch pods with spec.nodeName field selector',
    )
    assert.equal(
      messageOf(
        await n1('POST', `/api/v1/namespaces/${ns}/pods/p2/eviction`, {
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name: 'p2', namespace: ns },
        }),
      ),
      '403 pods "p2" is forbidden: node n1 can only evict pods with spec.nodeName set to itself',
    )
  })

  test('a node creates mirror pods bound to itself, nothing else', async () => {
    const node = await admin('GET', '/api/v1/nodes/n1')
    const uid = (node.body.metadata as { uid: string }).uid
    const mirror = (name: string, extra: Partial<NonNullable<Pod['spec']>> = {}) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: ns,
        annotations: { 'kubernetes.io/config.mirror': 'hash' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid, controller: true }],
      },
      spec: { nodeName: 'n1', containers: [{ name: 'web', image: 'nginx' }], ...extra },
    })
    created(await n1('POST', `/api/v1/namespaces/${ns}/pods`, mirror('static-n1')))
    assert.equal(
      messageOf(
        await n1(
          'POST',
          `/api/v1/namespaces/${ns}/pods`,
          mirror('static-secret', { volumes: [{ name: 's', secret: { secretName: 's2' } }] }),
        ),
      ),
      '403 pods "static-secret" is forbidden: node "n1" can not create pods that reference secrets',
    )
    assert.equal(
      messageOf(await n1('POST', `/api/v1/namespaces/${ns}/pods`, pod('sneaky', 'n1', 's2', 'c2'))),
      '403 pods "sneaky" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods',
    )
  })

  test('SubjectAccessReviews about a node get the Node authorizer’s answer; its rules review is incomplete', async () => {
    const review = async (name: string) => {
      const r = await admin('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: 'system:node:n1',
          groups: ['system:nodes', 'system:authenticated'],
          resourceAttributes: { verb: 'get', resource: 'secrets', namespace: ns, name },
        },
      })
      return r.body.status
    }
    assert.deepEqual(await review('s1'), { allowed: true })
    assert.deepEqual(await review('s2'), {
      allowed: false,
      reason: "no relationship found between node 'n1' and this object",
    })
    const pods = await admin('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: 'system:node:n1',
        groups: ['system:nodes'],
        resourceAttributes: {
          verb: 'watch',
          resource: 'pods',
          fieldSelector: { rawSelector: 'spec.nodeName=n1' },
        },
      },
    })
    assert.deepEqual(pods.body.status, { allowed: true })
    const rules = await n1('POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectRulesReview',
      spec: { namespace: ns },
    })
    assert.equal(rules.code, 201, JSON.stringify(rules.body))
    const status = rules.body.status as { incomplete: boolean; evaluationError: string }
    assert.equal(status.incomplete, true)
    assert.equal(status.evaluationError, 'node authorizer does not support user rule resolution')
  })

  test(
    'kubectl auth can-i as a node answers as the Node authorizer does',
    { skip: kubectlMissing },
    async () => {
      const can = async (...args: string[]) => {
        const r = await api.kubectl([
          'auth',
          'can-i',
          ...args,
          '--as=system:node:n1',
          '--as-group=system:nodes',
        ])
        return r.stdout.trim()
      }
      assert.equal(await can('get', 'secret/s1', '-n', ns), 'yes')
      // kubectl prints the authorizer's reason after a no.
      assert.equal(
        await can('get', 'secret/s2', '-n', ns),
        "no - no relationship found between node 'n1' and this object",
      )
      assert.equal(await can('update', 'leases/n1', '-n', 'kube-node-lease'), 'yes')
      assert.equal(
        await can('update', 'leases/n2', '-n', 'kube-node-lease'),
        'no - can only access node lease with the same name as the requesting node',
      )
      assert.equal(await can('list', 'services'), 'yes')
      assert.equal(await can('create', 'deployments'), 'no')
    },
  )
})
