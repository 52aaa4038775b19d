import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { FakeClock } from '../base/clock.ts'
import { createCertificateAuthority, issueCertificate } from '../pki/index.ts'
import {
  bootstrapNodeClientCertificate,
  loadCurrentCertificate,
  NodeClientCertificateManager,
} from './certificate-bootstrap.ts'

const dirs: string[] = []
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

/** A cert dir holding kubelet-client-current.pem for a certificate valid `validityDays`. */
async function certDir(validityDays = 10): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-node-cert-'))
  dirs.push(dir)
  const ca = await createCertificateAuthority('test-ca')
  const pair = await issueCertificate(ca, {
    subject: { commonName: 'system:node:n1', organizations: ['system:nodes'] },
    usage: 'client',
    validityDays,
  })
  const file = join(dir, 'kubelet-client-2026-01-01-00-00-00.pem')
  writeFileSync(file, `${pair.certPem}${pair.keyPem}`)
  symlinkSync(file, join(dir, 'kubelet-client-current.pem'))
  return dir
}

const options = (dir: string, clock = new FakeClock(Date.now())) => ({
  server: 'https://127.0.0.1:1',
  ca: '',
  nodeName: 'n1',
  certDir: dir,
  kubeconfigPath: join(dir, 'kubelet.kubeconfig'),
  clock,
})

test('the kept certificate and key are read back from kubelet-client-current.pem', async () => {
  const c = loadCurrentCertificate(await certDir())
  assert.ok(c)
  assert.match(c.certPem, /^-----BEGIN CERTIFICATE-----\n/)
  assert.match(c.keyPem, /^-----BEGIN PRIVATE KEY-----\n/)
  assert.ok(c.notAfter - c.notBefore > 9 * 86_400_000)
  assert.equal(loadCurrentCertificate(join(tmpdir(), 'k8ts-nowhere')), undefined)
})

test('renewal comes between 70 and 90 % of the lifetime', async () => {
  const dir = await certDir()
  for (const [random, share] of [
    [0, 0.7],
    [0.5, 0.8],
    [1, 0.9],
  ] as const) {
    const m = new NodeClientCertificateManager({ ...options(dir), random: () => random })
    const c = m.current()
    assert.ok(c)
    assert.equal(m.nextRotationDeadline(), c.notBefore + (c.notAfter - c.notBefore) * share)
  }
})

test('an expired certificate is renewed at once, with the bootstrap token or not at all', async () => {
  const dir = await certDir()
  const clock = new FakeClock(Date.now() + 11 * 86_400_000)
  const m = new NodeClientCertificateManager(options(dir, clock))
  assert.equal(m.nextRotationDeadline(), clock.now())
  await assert.rejects(m.rotate(), {
    message: 'the client certificate has expired and there is no bootstrap token to renew it with',
  })
})

test('a valid certificate on disk is used as is; without one a bootstrap token is needed', async () => {
  const dir = await certDir()
  const kept = await bootstrapNodeClientCertificate(options(dir))
  assert.deepEqual(kept, loadCurrentCertificate(dir))
  const empty = mkdtempSync(join(tmpdir(), 'k8ts-node-cert-'))
  dirs.push(empty)
  await assert.rejects(bootstrapNodeClientCertificate(options(empty)), {
    message: `no valid client certificate in ${empty} and no bootstrap token to request one with`,
  })
})
