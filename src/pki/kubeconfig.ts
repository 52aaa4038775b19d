import { readFileSync, writeFileSync } from 'node:fs'
import { parse, stringify } from 'yaml'

/**
 * A kubeconfig file (clientcmd v1) for one cluster, one user and one context, with the
 * certificates embedded, as kubectl and client libraries read it.
 */
export interface KubeconfigOptions {
  server: string
  caPem: string
  /** Client certificate authentication... */
  clientCertPem?: string
  clientKeyPem?: string
  /** ...with the certificate and key in files instead (a kubelet's rotated kubelet-client-current.pem)... */
  clientCertificateFile?: string
  clientKeyFile?: string
  /** ...or a bearer token. */
  token?: string
  clusterName?: string
  userName?: string
  contextName?: string
  namespace?: string
}

export function kubeconfig(o: KubeconfigOptions): string {
  const cluster = o.clusterName ?? 'k8ts'
  const user = o.userName ?? 'admin'
  const context = o.contextName ?? 'k8ts'
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64')
  const userEntry: Record<string, string> = {}
  if (o.clientCertPem !== undefined) userEntry['client-certificate-data'] = b64(o.clientCertPem)
  if (o.clientKeyPem !== undefined) userEntry['client-key-data'] = b64(o.clientKeyPem)
  if (o.clientCertificateFile !== undefined) userEntry['client-certificate'] = o.clientCertificateFile
  if (o.clientKeyFile !== undefined) userEntry['client-key'] = o.clientKeyFile
  if (o.token !== undefined) userEntry.token = o.token
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server: o.server, 'certificate-authority-data': b64(o.caPem) } }],
    users: [{ name: user, user: userEntry }],
    contexts: [
      {
        name: context,
        context: { cluster, user, ...(o.namespace !== undefined ? { namespace: o.namespace } : {}) },
      },
    ],
    'current-context': context,
    preferences: {},
  })
}

/** Writes a kubeconfig readable only by its owner (it holds a private key or a token). */
export function writeKubeconfig(path: string, o: KubeconfigOptions): void {
  writeFileSync(path, kubeconfig(o), { mode: 0o600 })
}

/** The CA and client certificate (PEM) of a kubeconfig's first cluster and user, as written above. */
export function readKubeconfigCredentials(path: string): { ca: string; cert: string; key: string } {
  const cfg = parse(readFileSync(path, 'utf8')) as {
    clusters?: { cluster?: { 'certificate-authority-data'?: string } }[]
    users?: { user?: { 'client-certificate-data'?: string; 'client-key-data'?: string } }[]
  }
  const pem = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString()
  return {
    ca: pem(cfg.clusters?.[0]?.cluster?.['certificate-authority-data']),
    cert: pem(cfg.users?.[0]?.user?.['client-certificate-data']),
    key: pem(cfg.users?.[0]?.user?.['client-key-data']),
  }
}
