import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  certificateHosts,
  createCertificateAuthority,
  expiresWithin,
  issueCertificate,
  type KeyPair,
  type Subject,
} from './certificates.ts'

/**
 * The cluster's certificates on disk, under <data-dir>/pki, made on first start and kept after:
 *
 *   ca.crt, ca.key                  the cluster CA (signs everything below, verifies clients)
 *   apiserver.crt, apiserver.key    serving certificate: the given hosts plus the kubernetes.default.svc names
 *   <name>.crt, <name>.key          client certificates: admin (CN=kubernetes-admin, O=system:masters),
 *                                   controller-manager (CN=system:kube-controller-manager),
 *                                   scheduler (CN=system:kube-scheduler), apiserver-kubelet-client
 *                                   (CN=kube-apiserver-kubelet-client, O=system:masters)
 *
 * A serving certificate that lacks a requested host, or is about to expire, is issued again with
 * the same CA; the CA itself is never replaced (that would lock every client out).
 */
export interface ClusterPki {
  readonly dir: string
  readonly ca: KeyPair
  readonly serving: KeyPair
  /** A client certificate for `subject`, issued (and kept as <name>.crt/.key) if missing. */
  clientCertificate(name: string, subject: Subject): Promise<KeyPair>
}

/** The in-cluster names of the apiserver (the `kubernetes` Service in `default`). */
export const kubernetesServiceNames = [
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
]

export async function ensureClusterPki(
  dataDir: string,
  options: { hosts: readonly string[] },
): Promise<ClusterPki> {
  const dir = join(dataDir, 'pki')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const ca = (await load(dir, 'ca')) ?? (await save(dir, 'ca', await createCertificateAuthority('k8ts-ca')))
  const hosts = [...new Set(['localhost', '127.0.0.1', ...kubernetesServiceNames, ...options.hosts])]
  let serving = await load(dir, 'apiserver')
  if (!serving || !covers(serving, hosts) || expiresWithin(serving.certPem, 30)) {
    serving = await save(
      dir,
      'apiserver',
      await issueCertificate(ca, { subject: { commonName: 'kube-apiserver' }, usage: 'server', hosts }),
    )
  }
  return {
    dir,
    ca,
    serving,
    async clientCertificate(name, subject) {
      const existing = await load(dir, name)
      if (existing && !expiresWithin(existing.certPem, 30)) return existing
      return save(dir, name, await issueCertificate(ca, { subject, usage: 'client' }))
    },
  }
}

function covers(pair: KeyPair, hosts: readonly string[]): boolean {
  const have = new Set(certificateHosts(pair.certPem))
  return hosts.every((h) => have.has(h))
}

async function load(dir: string, name: string): Promise<KeyPair | undefined> {
  const cert = join(dir, `${name}.crt`)
  const key = join(dir, `${name}.key`)
  if (!existsSync(cert) || !existsSync(key)) return undefined
  return { certPem: readFileSync(cert, 'utf8'), keyPem: readFileSync(key, 'utf8') }
}

async function save(dir: string, name: string, pair: KeyPair): Promise<KeyPair> {
  writeFileSync(join(dir, `${name}.key`), pair.keyPem, { mode: 0o600 })
  writeFileSync(join(dir, `${name}.crt`), pair.certPem, { mode: 0o644 })
  return pair
}
