import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import type { TLSSocket } from 'node:tls'
import { parse } from 'yaml'
import { ensureClusterPki, kubeconfig } from './index.ts'

const dir = mkdtempSync(join(tmpdir(), 'k8ts-pki-'))
after(() => rmSync(dir, { recursive: true, force: true }))

test('the serving certificate names the given hosts and the kubernetes service, and chains to the CA', async () => {
  const pki = await ensureClusterPki(join(dir, 'a'), { hosts: ['10.0.0.5', 'node-1.example'] })
  const cert = new X509Certificate(pki.serving.certPem)
  const ca = new X509Certificate(pki.ca.certPem)
  assert.ok(cert.verify(ca.publicKey))
  assert.ok(cert.checkIssued(ca))
  for (const h of [
    'DNS:kubernetes.default.svc',
    'DNS:localhost',
    'IP Address:127.0.0.1',
    'IP Address:10.0.0.5',
    'DNS:node-1.example',
  ]) {
    assert.ok(cert.subjectAltName?.includes(h), `${h} missing from ${cert.subjectAltName}`)
  }
  assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1')
  assert.equal(ca.ca, true)
  assert.equal(cert.ca, false)
})

test('a second start keeps the CA and the serving certificate; a new host reissues only the latter', async () => {
  const first = await ensureClusterPki(join(dir, 'b'), { hosts: [] })
  const again = await ensureClusterPki(join(dir, 'b'), { hosts: [] })
  assert.equal(again.ca.certPem, first.ca.certPem)
  assert.equal(again.serving.certPem, first.serving.certPem)
  const grown = await ensureClusterPki(join(dir, 'b'), { hosts: ['192.168.1.9'] })
  assert.equal(grown.ca.certPem, first.ca.certPem)
  assert.notEqual(grown.serving.certPem, first.serving.certPem)
  assert.match(new X509Certificate(grown.serving.certPem).subjectAltName ?? '', /192\.168\.1\.9/)
})

test('a client certificate carries the user as CN and the groups as O, and a TLS server sees them', async () => {
  const pki = await ensureClusterPki(join(dir, 'c'), { hosts: [] })
  const admin = await pki.clientCertificate('admin', {
    commonName: 'kubernetes-admin',
    organizations: ['system:masters', 'devs'],
  })
  const server = createServer(
    {
      cert: pki.serving.certPem,
      key: pki.serving.keyPem,
      ca: pki.ca.certPem,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      const socket = req.socket as TLSSocket
      const peer = socket.getPeerCertificate()
      res.end(JSON.stringify({ authorized: socket.authorized, cn: peer.subject.CN, o: peer.subject.O }))
    },
  )
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  const body = await new Promise<string>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        ca: pki.ca.certPem,
        cert: admin.certPem,
        key: admin.keyPem,
        servername: 'localhost',
      },
      (res) => {
        let b = ''
        res.on('data', (d: Buffer) => (b += d.toString()))
        res.on('end', () => resolve(b))
      },
    )
    req.on('error', reject)
    req.end()
  })
  server.close()
  assert.deepEqual(JSON.parse(body), {
    authorized: true,
    cn: 'kubernetes-admin',
    o: ['system:masters', 'devs'],
  })
  assert.equal(readFileSync(join(dir, 'c', 'pki', 'admin.crt'), 'utf8'), admin.certPem)
})

test('a kubeconfig embeds the CA and the credentials under one current context', () => {
  const doc = parse(
    kubeconfig({ server: 'https://127.0.0.1:6443', caPem: 'CA', clientCertPem: 'CERT', clientKeyPem: 'KEY' }),
  ) as {
    clusters: { cluster: Record<string, string> }[]
    users: { user: Record<string, string> }[]
    'current-context': string
  }
  assert.equal(doc.clusters[0]?.cluster.server, 'https://127.0.0.1:6443')
  assert.equal(
    Buffer.from(doc.clusters[0]?.cluster['certificate-authority-data'] ?? '', 'base64').toString(),
    'CA',
  )
  assert.equal(Buffer.from(doc.users[0]?.user['client-key-data'] ?? '', 'base64').toString(), 'KEY')
  assert.equal(doc['current-context'], 'k8ts')
})
