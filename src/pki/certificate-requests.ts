import { createHash, createPrivateKey, createPublicKey, type KeyObject, type webcrypto } from 'node:crypto'
import type { CertificateRequest } from '../api/certificate-request.ts'
import { distinguishedName, exportKey, serial, x509lib, type KeyPair, type Subject } from './certificates.ts'

type CryptoKey = webcrypto.CryptoKey
type CryptoKeyPair = webcrypto.CryptoKeyPair

/**
 * Certificate requests (PKCS#10) and the certificates a signer issues for them: what a node asks
 * for through a CertificateSigningRequest, and what the controller-manager's csrsigning
 * controller answers with the cluster CA. Keys are ECDSA P-256; a CA may also hold an RSA or
 * another ECDSA key.
 */

const ecdsaP256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const

export interface CertificateRequestOptions {
  subject: Subject
  dnsNames?: readonly string[]
  ipAddresses?: readonly string[]
  /** The private key (PKCS#8 PEM, ECDSA P-256) to request for; a new one when absent. */
  keyPem?: string
}

/** A new PEM CERTIFICATE REQUEST, and the PEM of its private key. */
export async function createCertificateRequest(
  o: CertificateRequestOptions,
): Promise<{ csrPem: string; keyPem: string }> {
  const x509 = await x509lib()
  const keys = o.keyPem
    ? await keyPairFromPem(o.keyPem)
    : await crypto.subtle.generateKey(ecdsaP256, true, ['sign', 'verify'])
  const names = [
    ...(o.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(o.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ]
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: distinguishedName(o.subject),
    keys,
    signingAlgorithm: ecdsaP256,
    ...(names.length > 0 ? { extensions: [new x509.SubjectAlternativeNameExtension(names)] } : {}),
  })
  return { csrPem: csr.toString('pem'), keyPem: await exportKey(keys.privateKey) }
}

/** A usage of spec.usages that is neither a key usage nor an extended key usage. */
export class UnrecognizedUsageError extends Error {
  override readonly name = 'UnrecognizedUsageError'
}

export interface SignOptions {
  /** The request, as parsed (and its signature checked) by api/certificate-request.ts. */
  request: CertificateRequest
  /** spec.usages of the CertificateSigningRequest. */
  usages: readonly string[]
  notBefore: Date
  notAfter: Date
}

/**
 * A certificate signed by `ca` for a request, as Kubernetes' local signer makes it (its
 * PermissiveSigningPolicy): the request's subject, SANs and public key; the key usages and
 * extended key usages of spec.usages; not a CA; no other extension of the request.
 */
export async function signCertificateRequest(ca: KeyPair, o: SignOptions): Promise<string> {
  const x509 = await x509lib()
  const { keyUsage, extendedKeyUsages } = usageExtensions(o.usages)
  const caCert = new x509.X509Certificate(ca.certPem)
  const signer = await importSigningKey(ca.keyPem)
  const extensions: InstanceType<typeof x509.Extension>[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
  ]
  if (keyUsage !== 0) extensions.push(new x509.KeyUsagesExtension(keyUsage, true))
  if (extendedKeyUsages.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(extendedKeyUsages))
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(caCert))
  const r = o.request
  const names = [
    ...r.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...r.emailAddresses.map((value) => ({ type: 'email' as const, value })),
    ...r.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
    ...r.uris.map((value) => ({ type: 'url' as const, value })),
  ]
  if (names.length > 0)
    extensions.push(new x509.SubjectAlternativeNameExtension(names, r.subject.commonName === ''))
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: new x509.Name(r.subjectDer),
    issuer: caCert.subjectName,
    notBefore: o.notBefore,
    notAfter: o.notAfter,
    publicKey: r.publicKeyDer,
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    extensions,
  })
  return cert.toString('pem')
}

/**
 * The KeyUsage bits and extended key usages (in Go's order of ExtKeyUsage) of spec.usages;
 * throws UnrecognizedUsageError naming usages that are neither.
 */
export function usageExtensions(usages: readonly string[]): {
  keyUsage: number
  extendedKeyUsages: string[]
} {
  let keyUsage = 0
  const ext = new Set<string>()
  const unrecognized: string[] = []
  for (const u of usages) {
    const bit = keyUsageBits[u]
    const eku = extendedKeyUsageOids[u]
    if (bit !== undefined) keyUsage |= bit
    else if (eku !== undefined) ext.add(eku)
    else unrecognized.push(u)
  }
  if (unrecognized.length > 0)
    throw new UnrecognizedUsageError(
      `unrecognized usage values: [${unrecognized.map((u) => JSON.stringify(u)).join(' ')}]`,
    )
  const order = Object.values(extendedKeyUsageOids)
  return { keyUsage, extendedKeyUsages: [...ext].sort((a, b) => order.indexOf(a) - order.indexOf(b)) }
}

/**
 * kubelet's name for its bootstrap request: `node-csr-` and a digest of the public key, the
 * subject's CN and O, and the usages, so that a restarted bootstrap finds the request it made.
 */
export function digestedRequestName(o: {
  publicKeyDer: Buffer
  subject: Subject
  usages: readonly string[]
}): string {
  const hash = createHash('sha512-256')
  const write = (data: Buffer | string) => {
    hash.update(Buffer.from(data).toString('base64url'))
    hash.update('|')
  }
  write(o.publicKeyDer)
  write(o.subject.commonName)
  for (const org of o.subject.organizations ?? []) write(org)
  for (const u of o.usages) write(u)
  return `node-csr-${hash.digest().toString('base64url')}`
}

/** The SubjectPublicKeyInfo (DER) of a private key's public half. */
export function publicKeyDerOf(keyPem: string): Buffer {
  return spkiOf(createPrivateKey(keyPem))
}

const keyUsageBits: Record<string, number> = {
  signing: 1,
  'digital signature': 1,
  'content commitment': 2,
  'key encipherment': 4,
  'data encipherment': 8,
  'key agreement': 16,
  'cert sign': 32,
  'crl sign': 64,
  'encipher only': 128,
  'decipher only': 256,
}

const extendedKeyUsageOids: Record<string, string> = {
  any: '2.5.29.37.0',
  'server auth': '1.3.6.1.5.5.7.3.1',
  'client auth': '1.3.6.1.5.5.7.3.2',
  'code signing': '1.3.6.1.5.5.7.3.3',
  'email protection': '1.3.6.1.5.5.7.3.4',
  's/mime': '1.3.6.1.5.5.7.3.4',
  'ipsec end system': '1.3.6.1.5.5.7.3.5',
  'ipsec tunnel': '1.3.6.1.5.5.7.3.6',
  'ipsec user': '1.3.6.1.5.5.7.3.7',
  timestamping: '1.3.6.1.5.5.7.3.8',
  'ocsp signing': '1.3.6.1.5.5.7.3.9',
  'microsoft sgc': '1.3.6.1.4.1.311.10.3.3',
  'netscape sgc': '2.16.840.1.113730.4.1',
}

/** An ECDSA P-256 key pair from its private key's PEM. */
async function keyPairFromPem(pem: string): Promise<CryptoKeyPair> {
  const key = createPrivateKey(pem)
  const pkcs8 = key.export({ format: 'der', type: 'pkcs8' })
  const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, ecdsaP256, true, ['sign'])
  const publicKey = await crypto.subtle.importKey('spki', spkiOf(key), ecdsaP256, true, ['verify'])
  return { privateKey, publicKey }
}

/** A CA's private key (PKCS#8, PKCS#1 or SEC 1 PEM; RSA or ECDSA) as a WebCrypto signing key. */
async function importSigningKey(
  pem: string,
): Promise<{ key: CryptoKey; algorithm: { name: string; hash: string; namedCurve?: string } }> {
  const key = createPrivateKey(pem)
  const pkcs8 = key.export({ format: 'der', type: 'pkcs8' })
  if (key.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
    return { key: await crypto.subtle.importKey('pkcs8', pkcs8, algorithm, false, ['sign']), algorithm }
  }
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve
    const namedCurve = curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : 'P-256'
    const hash = namedCurve === 'P-384' ? 'SHA-384' : namedCurve === 'P-521' ? 'SHA-512' : 'SHA-256'
    const algorithm = { name: 'ECDSA', namedCurve, hash }
    return { key: await crypto.subtle.importKey('pkcs8', pkcs8, algorithm, false, ['sign']), algorithm }
  }
  throw new Error(
    `the signing key is ${key.asymmetricKeyType ?? 'of an unknown type'}; RSA or ECDSA is needed`,
  )
}

function spkiOf(key: KeyObject): Buffer {
  return createPublicKey(key).export({ format: 'der', type: 'spki' })
}
