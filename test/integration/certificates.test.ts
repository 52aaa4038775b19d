import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { readFileSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { CertificateSigningRequest } from '../../src/api/generated/types/certificates-v1.ts'
import type { Secret } from '../../src/api/generated/types/core-v1.ts'
import {
  bootstrapNodeClientCertificate,
  builtin,
  loadKubeconfig,
  NodeClientCertificateManager,
  ResourceClient,
  RestClient,
  type ClientConfig,
} from '../../src/client/index.ts'
import { FakeClock } from '../../src/base/clock.ts'
import { startControllerManager, type ControllerManager } from '../../src/controllers/index.ts'
import { createCertificateRequest } from '../../src/pki/certificate-requests.ts'
import { kubectlMissing, startTestApiServer, testLog, type TestApiServer } from '../support/cluster.ts'
import { until } from '../support/until.ts'

const token = 'abcdef.0123456789abcdef'
const b64 = (s: string) => Buffer.from(s).toString('base64')

/**
 * CertificateSigningRequests end to end on an in-process apiserver and controller-manager
 * (csrsigning with the cluster CA, csrapproving, csrcleaner): TLS bootstrapping of a node with a
 * bootstrap token, its renewal with its own certificate, and requests people approve or deny with
 * the real kubectl.
 */
describe('certificate signing requests', () => {
  let api: TestApiServer
  let manager: ControllerManager
  let rest: RestClient
  let csrs: ResourceClient<CertificateSigningRequest>
  const nodeDir = () => join(api.dataDir, 'node-1')
  const nodeOptions = () => ({
    server: api.server.url,
    ca: api.server.caPem,
    nodeName: 'node-1',
    certDir: join(nodeDir(), 'pki'),
    kubeconfigPath: join(nodeDir(), 'kubelet.kubeconfig'),
    log: testLog,
  })

  /** Who the apiserver takes the holder of `config` for (a SelfSubjectReview). */
  const whoAmI = async (config: ClientConfig) => {
    const client = new RestClient(config)
    try {
      const r = await client.request<{ status: { userInfo: { username: string; groups: string[] } } }>(
        'POST',
        '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } },
      )
      return r.status.userInfo
    } finally {
      await client.close()
    }
  }

  /** A CSR made by the admin for a signer and subject. */
  const request = async (o: {
    name: string
    signerName: string
    commonName: string
    organizations?: string[]
    usages?: string[]
  }) => {
    const { csrPem, keyPem } = await createCertificateRequest({
      subject: { commonName: o.commonName, organizations: o.organizations ?? [] },
    })
    await csrs.create({
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name: o.name },
      spec: { request: b64(csrPem), signerName: o.signerName, usages: o.usages ?? ['client auth'] },
    })
    return keyPem
  }

  before(async () => {
    api = await startTestApiServer()
    rest = new RestClient(loadKubeconfig(api.server.adminKubeconfig))
    csrs = new ResourceClient(rest, builtin('certificates.k8s.io', 'v1', 'certificatesigningrequests'))
    // As k8ts up runs it: as system:kube-controller-manager, each controller as its own
    // ServiceAccount (these three as certificate-controller).
    manager = startControllerManager({
      client: loadKubeconfig(api.server.controllerManagerKubeconfig),
      useServiceAccountCredentials: true,
      controllers: ['csrsigning', 'csrapproving', 'csrcleaner'],
      settings: {
        clusterSigningCert: readFileSync(join(api.dataDir, 'pki', 'ca.crt'), 'utf8'),
        clusterSigningKey: readFileSync(join(api.dataDir, 'pki', 'ca.key'), 'utf8'),
      },
      leaderElect: false,
      log: testLog,
    })
    // A bootstrap token as kubeadm makes them: for authentication, in kubeadm's node group.
    await new ResourceClient<Secret>(rest, builtin('', 'v1', 'secrets')).create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bootstrap-token-abcdef', namespace: 'kube-system' },
      type: 'bootstrap.kubernetes.io/token',
      data: {
        'token-id': b64('abcdef'),
        'token-secret': b64('0123456789abcdef'),
        'usage-bootstrap-authentication': b64('true'),
        'auth-extra-groups': b64('system:bootstrappers:kubeadm:default-node-token'),
      },
    })
  })

  after(async () => {
    await manager?.stop()
    await rest?.close()
    await api?.stop()
  })

  test('a node with only a bootstrap token gets its client certificate and then works as system:node:node-1', async () => {
    const cert = await bootstrapNodeClientCertificate({ ...nodeOptions(), bootstrapToken: token })
    const x = new X509Certificate(cert.certPem)
    assert.equal(x.subject, 'O=system:nodes\nCN=system:node:node-1')
    assert.ok(x.verify(new X509Certificate(api.server.caPem).publicKey))
    assert.equal(x.ca, false)
    assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.2'])

    // The kubeconfig written for the node points at kubelet-client-current.pem.
    const config = loadKubeconfig(nodeOptions().kubeconfigPath)
    assert.deepEqual(await whoAmI(config), {
      username: 'system:node:node-1',
      groups: ['system:nodes', 'system:authenticated'],
    })

    // The request: named after its key, made by the token's user, approved by csrapproving.
    const list = await csrs.list('')
    const mine = list.items.filter((c) => c.metadata?.name?.startsWith('node-csr-'))
    assert.equal(mine.length, 1)
    const csr = mine[0]
    assert.equal(csr?.spec.username, 'system:bootstrap:abcdef')
    assert.deepEqual(csr?.spec.groups, [
      'system:bootstrappers',
      'system:bootstrappers:kubeadm:default-node-token',
      'system:authenticated',
    ])
    assert.deepEqual(
      csr?.status?.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
      [
        [
          'Approved',
          'True',
          'AutoApproved',
          'Auto approving kubelet client certificate after SubjectAccessReview.',
        ],
      ],
    )

    // Starting again with a valid certificate on disk asks for nothing.
    const again = await bootstrapNodeClientCertificate({ ...nodeOptions(), bootstrapToken: token })
    assert.equal(again.certPem, cert.certPem)
    assert.equal(
      (await csrs.list('')).items.filter((c) => c.metadata?.name?.startsWith('node-csr-')).length,
      1,
    )
  })

  test('the node renews with its own certificate, and the renewal is approved as selfnodeclient', async () => {
    const rotations: string[] = []
    const certificates = new NodeClientCertificateManager({
      ...nodeOptions(),
      onRotated: (c) => rotations.push(c.certPem),
      random: () => 0.5,
    })
    const before = certificates.current()
    assert.ok(before)
    const total = before.notAfter - before.notBefore
    assert.equal(certificates.nextRotationDeadline(), before.notBefore + total * 0.8)

    const renewed = await certificates.rotate()
    assert.notEqual(renewed.certPem, before.certPem)
    assert.deepEqual(rotations, [renewed.certPem])
    const current = readlinkSync(join(nodeOptions().certDir, 'kubelet-client-current.pem'))
    assert.equal(readFileSync(current, 'utf8').includes(renewed.certPem.trim()), true)

    const renewal = (await csrs.list('')).items.find(
      (c) => c.metadata?.name?.startsWith('csr-') && c.spec.username === 'system:node:node-1',
    )
    assert.ok(renewal, 'a renewal request made by the node itself')
    assert.equal(
      renewal.status?.conditions?.[0]?.message,
      'Auto approving self kubelet client certificate after SubjectAccessReview.',
    )
    assert.equal((await whoAmI(loadKubeconfig(nodeOptions().kubeconfigPath))).username, 'system:node:node-1')
  })

  test('left running, the node renews when 70 % of the lifetime has passed (the least the jitter gives)', async () => {
    const clock = new FakeClock(Date.now())
    const rotated: string[] = []
    const certificates = new NodeClientCertificateManager({
      ...nodeOptions(),
      clock,
      random: () => 0,
      onRotated: (c) => rotated.push(c.certPem),
    })
    const first = certificates.current()
    assert.ok(first)
    const deadline = first.notBefore + (first.notAfter - first.notBefore) * 0.7
    assert.equal(certificates.nextRotationDeadline(), deadline)
    const run = certificates.start()
    try {
      clock.advance(deadline - clock.now() - 1000)
      await new Promise((r) => setTimeout(r, 200))
      assert.deepEqual(rotated, [])
      clock.advance(1000)
      await until(() => rotated.length === 1, 10_000, 'the manager to renew the certificate')
      assert.equal(
        (await whoAmI(loadKubeconfig(nodeOptions().kubeconfigPath))).username,
        'system:node:node-1',
      )
    } finally {
      await run.stop()
    }
  })

  test('a malformed request, a bad signer name and a system:masters client certificate are refused', async () => {
    const bad = await api.request('POST', '/apis/certificates.k8s.io/v1/certificatesigningrequests', {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        apiVersion: 'certificates.k8s.io/v1',
        kind: 'CertificateSigningRequest',
        metadata: { name: 'bad' },
        spec: { request: b64('hello'), signerName: 'widgets', usages: ['client auth', 'flying'] },
      }),
    })
    assert.equal(bad.code, 422)
    const status = JSON.parse(bad.body.toString()) as {
      message: string
      details: { causes: { field: string }[] }
    }
    assert.match(status.message, /^CertificateSigningRequest.certificates.k8s.io "bad" is invalid: \[/)
    assert.match(
      status.message,
      /spec.request: Invalid value: ".*": PEM block type must be CERTIFICATE REQUEST/,
    )
    assert.match(
      status.message,
      /spec.signerName: Invalid value: "widgets": must be a fully qualified domain and path of the form 'example.com\/signer-name'/,
    )
    assert.deepEqual(
      status.details.causes.map((c) => c.field),
      ['spec.request', 'spec.usages[1]', 'spec.signerName'],
    )
    await assert.rejects(
      request({
        name: 'mallory',
        signerName: 'kubernetes.io/kube-apiserver-client',
        commonName: 'mallory',
        organizations: ['system:masters'],
      }),
      {
        message:
          'certificatesigningrequests.certificates.k8s.io "mallory" is forbidden: use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed',
      },
    )
  })

  describe('with kubectl', { skip: kubectlMissing }, () => {
    test('a request for another signer stays pending until kubectl certificate approve, then is issued', async () => {
      const keyPem = await request({
        name: 'jane',
        signerName: 'kubernetes.io/kube-apiserver-client',
        commonName: 'jane',
        organizations: ['devs'],
      })
      // Neither csrapproving nor csrsigning may act on it: give them a moment to (not) do so.
      await new Promise((r) => setTimeout(r, 1000))
      const pending = await api.kubectl(['get', 'csr', 'jane', '--no-headers'])
      assert.match(
        pending.stdout,
        /^jane\s+\S+\s+kubernetes.io\/kube-apiserver-client\s+kubernetes-admin\s+<none>\s+Pending\n$/,
      )

      const approve = await api.kubectl(['certificate', 'approve', 'jane'])
      assert.equal(approve.code, 0, approve.stderr)
      assert.equal(approve.stdout, 'certificatesigningrequest.certificates.k8s.io/jane approved\n')
      const issued = await until(
        async () => {
          const c = await csrs.get('', 'jane')
          return c.status?.certificate ? c : undefined
        },
        10_000,
        'jane to be issued',
      )
      assert.deepEqual(
        issued.status?.conditions?.map((c) => [c.type, c.reason, c.message]),
        [['Approved', 'KubectlApprove', 'This CSR was approved by kubectl certificate approve.']],
      )
      const shown = await api.kubectl(['get', 'csr', 'jane', '--no-headers'])
      assert.match(shown.stdout, /\sApproved,Issued\n$/)
      const certPem = Buffer.from(issued.status?.certificate ?? '', 'base64').toString()
      assert.deepEqual(
        await whoAmI({ server: api.server.url, ca: api.server.caPem, cert: certPem, key: keyPem }),
        {
          username: 'jane',
          groups: ['devs', 'system:authenticated'],
        },
      )
    })

    test('kubectl certificate deny denies, and nothing is issued', async () => {
      await request({ name: 'widget-1', signerName: 'example.com/widgets', commonName: 'widget-1' })
      const deny = await api.kubectl(['certificate', 'deny', 'widget-1'])
      assert.equal(deny.code, 0, deny.stderr)
      assert.equal(deny.stdout, 'certificatesigningrequest.certificates.k8s.io/widget-1 denied\n')
      const denied = await csrs.get('', 'widget-1')
      assert.deepEqual(
        denied.status?.conditions?.map((c) => [c.type, c.status, c.reason]),
        [['Denied', 'True', 'KubectlDeny']],
      )
      assert.equal(denied.status?.certificate, undefined)
      const shown = await api.kubectl(['get', 'csr', 'widget-1', '--no-headers'])
      assert.match(shown.stdout, /\sDenied\n$/)
    })

    test('approving needs approve on the signer: 403 with Kubernetes’ message, then allowed by domain', async () => {
      await request({ name: 'widget-2', signerName: 'example.com/widgets', commonName: 'widget-2' })
      const role = {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'csr-approver' },
        rules: [
          {
            apiGroups: ['certificates.k8s.io'],
            resources: ['certificatesigningrequests'],
            verbs: ['get', 'list', 'watch'],
          },
          {
            apiGroups: ['certificates.k8s.io'],
            resources: ['certificatesigningrequests/approval'],
            verbs: ['update'],
          },
        ],
      }
      assert.equal((await api.kubectl(['apply', '-f', '-'], { stdin: JSON.stringify(role) })).code, 0)
      const bind = await api.kubectl([
        'create',
        'clusterrolebinding',
        'carol-csr',
        '--clusterrole=csr-approver',
        '--user=carol',
      ])
      assert.equal(bind.code, 0, bind.stderr)
      await until(
        async () =>
          (
            await api.kubectl([
              'auth',
              'can-i',
              'update',
              'certificatesigningrequests',
              '--subresource=approval',
              '--as=carol',
            ])
          ).stdout === 'yes\n',
        10_000,
        'carol to be allowed to update approvals',
      )
      const refused = await api.kubectl(['certificate', 'approve', 'widget-2', '--as=carol'])
      assert.equal(refused.code, 1)
      assert.equal(
        refused.stderr,
        'Error from server (Forbidden): certificatesigningrequests.certificates.k8s.io "widget-2" is forbidden: user not permitted to approve requests with signerName "example.com/widgets"\n',
      )

      const signers = {
        ...role,
        rules: [
          ...role.rules,
          {
            apiGroups: ['certificates.k8s.io'],
            resources: ['signers'],
            resourceNames: ['example.com/*'],
            verbs: ['approve'],
          },
        ],
      }
      assert.equal((await api.kubectl(['apply', '-f', '-'], { stdin: JSON.stringify(signers) })).code, 0)
      await until(
        async () => (await api.kubectl(['certificate', 'approve', 'widget-2', '--as=carol'])).code === 0,
        10_000,
        'carol to be allowed to approve example.com signers',
      )
      const approved = await csrs.get('', 'widget-2')
      assert.equal(approved.status?.conditions?.[0]?.type, 'Approved')
      // Nobody signs example.com/widgets here: approved, not issued.
      assert.equal(approved.status?.certificate, undefined)
    })
  })
})
