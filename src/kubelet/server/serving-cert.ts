import { isIP } from 'node:net'
import { createCertificateAuthority, issueCertificate, type KeyPair } from '../../pki/index.ts'

/**
 * The kubelet's serving certificate when it is given none and does not rotate one through the
 * API (no --tls-cert-file, serverTLSBootstrap off): made at start, signed by a CA of its own
 * named `<node>-ca@<unix time>`, for the node's name and addresses. Clients that want to verify
 * it need that CA, which is why the apiserver and metrics-server usually skip verification of
 * kubelets (--kubelet-insecure-tls).
 */
export async function selfSignedServingCertificate(
  nodeName: string,
  addresses: readonly string[],
  nowMs: number,
): Promise<{ serving: KeyPair; ca: KeyPair; chainPem: string }> {
  const stamp = Math.floor(nowMs / 1000)
  const ca = await createCertificateAuthority(`${nodeName}-ca@${stamp}`)
  const hosts = [...new Set([nodeName, 'localhost', ...addresses.filter((a) => a !== '')])]
  const serving = await issueCertificate(ca, {
    subject: { commonName: `${nodeName}@${stamp}` },
    usage: 'server',
    hosts: hosts.filter((h) => isIP(h) !== 0 || /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/i.test(h)),
  })
  return { serving, ca, chainPem: `${serving.certPem.trimEnd()}\n${ca.certPem}` }
}
