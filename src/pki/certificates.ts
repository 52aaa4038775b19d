import { X509Certificate, randomBytes, type webcrypto } from 'node:crypto'
import { isIP } from 'node:net'

type CryptoKey = webcrypto.CryptoKey

/**
 * Certificates for the cluster: one CA, serving certificates for the apiserver and other
 * components, client certificates whose subject is a Kubernetes identity (CN = user name,
 * O = groups, as the x509 authenticator reads them). Keys are ECDSA P-256.
 *
 * The X.509 library (and the reflect polyfill it needs) is loaded only when something is
 * issued, so that a restart with certificates already on disk does not pay for it.
 */
export interface KeyPair {
  certPem: string
  keyPem: string
}

export interface Subject {
  commonName: string
  organizations?: readonly string[]
}

export interface IssueOptions {
  subject: Subject
  /** 'server' certificates carry serverAuth and SANs; 'client' certificates carry clientAuth. */
  usage: 'server' | 'client' | 'server-and-client'
  /** DNS names and IP addresses for server certificates. */
  hosts?: readonly string[]
  validityDays?: number
}

const signing = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const

/** @peculiar/x509, loaded on first use (with the reflect polyfill it needs). */
export async function x509lib() {
  await import('reflect-metadata')
  return import('@peculiar/x509')
}

/** A new self-signed certificate authority. */
export async function createCertificateAuthority(commonName: string, validityDays = 3650): Promise<KeyPair> {
  const x509 = await x509lib()
  const keys = await crypto.subtle.generateKey(signing, true, ['sign', 'verify'])
  const now = Date.now()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: distinguishedName({ commonName }),
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + validityDays * 86_400_000),
    signingAlgorithm: signing,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  return { certPem: cert.toString('pem'), keyPem: await exportKey(keys.privateKey) }
}

/** A certificate signed by `ca`. */
export async function issueCertificate(ca: KeyPair, options: IssueOptions): Promise<KeyPair> {
  const x509 = await x509lib()
  const caCert = new x509.X509Certificate(ca.certPem)
  const caKey = await importKey(ca.keyPem)
  const keys = await crypto.subtle.generateKey(signing, true, ['sign', 'verify'])
  const now = Date.now()
  const usages: string[] = []
  if (options.usage !== 'client') usages.push(x509.ExtendedKeyUsage.serverAuth)
  if (options.usage !== 'server') usages.push(x509.ExtendedKeyUsage.clientAuth)
  const extensions: InstanceType<typeof x509.Extension>[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    new x509.ExtendedKeyUsageExtension(usages),
    await x509.AuthorityKeyIdentifierExtension.create(caCert),
  ]
  const hosts = options.hosts ?? []
  if (hosts.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        hosts.map((h) => (isIP(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h })),
      ),
    )
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: distinguishedName(options.subject),
    issuer: caCert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + (options.validityDays ?? 365) * 86_400_000),
    signingAlgorithm: signing,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions,
  })
  return { certPem: cert.toString('pem'), keyPem: await exportKey(keys.privateKey) }
}

/** The names and addresses a certificate is valid for (its SANs), read with Node's own parser. */
export function certificateHosts(certPem: string): string[] {
  const san = new X509Certificate(certPem).subjectAltName ?? ''
  return san
    .split(', ')
    .filter((s) => s !== '')
    .map((s) => s.replace(/^(DNS|IP Address):/, ''))
}

/** True when the certificate expires within `days`. */
export function expiresWithin(certPem: string, days: number): boolean {
  return new Date(new X509Certificate(certPem).validTo).getTime() - Date.now() < days * 86_400_000
}

/** RFC 4514 string; commas and other specials in values are escaped. */
export function distinguishedName(subject: Subject): string {
  const esc = (v: string) => v.replace(/([,+"\\<>;=])/g, '\\$1')
  return [...(subject.organizations ?? []).map((o) => `O=${esc(o)}`), `CN=${esc(subject.commonName)}`].join(
    ', ',
  )
}

/** A random positive 128-bit serial number, in hex. */
export function serial(): string {
  const b = randomBytes(16)
  b[0] = (b[0] ?? 0) & 0x7f // positive
  return b.toString('hex')
}

/** A private key as PKCS#8 PEM. */
export async function exportKey(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', key))
  const lines = der.toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`
}

async function importKey(pem: string): Promise<CryptoKey> {
  const b64 = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '').replace(/\s+/g, '')
  return crypto.subtle.importKey('pkcs8', Buffer.from(b64, 'base64'), signing, false, ['sign'])
}
