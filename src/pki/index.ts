export {
  createCertificateAuthority,
  issueCertificate,
  certificateHosts,
  expiresWithin,
  type KeyPair,
  type Subject,
  type IssueOptions,
} from './certificates.ts'
export { ensureClusterPki, kubernetesServiceNames, type ClusterPki } from './cluster-pki.ts'
export {
  kubeconfig,
  writeKubeconfig,
  readKubeconfigCredentials,
  type KubeconfigOptions,
} from './kubeconfig.ts'
