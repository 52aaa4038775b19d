import { createPublicKey, verify, X509Certificate } from 'node:crypto'

/**
 * PKCS#10 certificate requests (RFC 2986) as CertificateSigningRequests carry them in
 * spec.request: PEM-encoded "CERTIFICATE REQUEST" blocks. This reads what Kubernetes looks at
 * (the subject, the subject alternative names asked for, the public key) and checks the
 * request's signature, synchronously, so that validation can run it. Requests are made and
 * certificates issued elsewhere (src/pki); reading needs only a small DER reader and Node's own
 * signature check.
 *
 *   CertificationRequest ::= SEQUENCE {
 *     certificationRequestInfo SEQUENCE {
 *       version INTEGER (0), subject Name, subjectPKInfo SubjectPublicKeyInfo,
 *       attributes [0] SET OF Attribute      -- extensionRequest carries the SANs
 *     },
 *     signatureAlgorithm AlgorithmIdentifier,
 *     signature BIT STRING
 *   }
 */
export interface CertificateRequest {
  readonly subject: DistinguishedName
  /** The subject Name as encoded (DER), to be copied into the certificate unchanged. */
  readonly subjectDer: Buffer
  readonly dnsNames: readonly string[]
  readonly emailAddresses: readonly string[]
  readonly ipAddresses: readonly string[]
  readonly uris: readonly string[]
  /** The SubjectPublicKeyInfo as encoded (DER). */
  readonly publicKeyDer: Buffer
  readonly publicKeyAlgorithm: PublicKeyAlgorithm
  /** certificationRequestInfo as encoded: what the signature covers. */
  readonly signedDer: Buffer
  readonly signatureAlgorithm: string
  readonly signature: Buffer
}

export type PublicKeyAlgorithm = 'RSA' | 'ECDSA' | 'Ed25519' | 'unknown'

/** The parts of a subject Kubernetes reads; each list keeps the order of the request. */
export interface DistinguishedName {
  readonly commonName: string
  readonly organizations: readonly string[]
  readonly organizationalUnits: readonly string[]
  readonly countries: readonly string[]
  readonly localities: readonly string[]
  readonly provinces: readonly string[]
  readonly serialNumber: string
}

/** A request that cannot be read or whose signature does not hold; the message is Go's. */
export class CertificateRequestError extends Error {
  override readonly name = 'CertificateRequestError'
}

/** The first PEM block of `pem`: its type, headers and contents; undefined when there is none. */
export function decodePem(
  pem: string,
): { type: string; headers: boolean; der: Buffer; rest: string } | undefined {
  const m = /-----BEGIN ([^-\r\n]*)-----\r?\n([\s\S]*?)-----END \1-----/.exec(pem)
  if (!m) return undefined
  const body = m[2] ?? ''
  const headers = /^[^\s:]+:/m.test(body)
  const der = Buffer.from(body.replace(/\s+/g, ''), 'base64')
  return { type: m[1] ?? '', headers, der, rest: pem.slice((m.index ?? 0) + m[0].length) }
}

/**
 * Reads the PEM of spec.request (the API's base64 already decoded), as Kubernetes' ParseCSR:
 * the first PEM block must be a CERTIFICATE REQUEST.
 */
export function parseCertificateRequestPem(pem: string | Buffer): CertificateRequest {
  const block = decodePem(typeof pem === 'string' ? pem : pem.toString('latin1'))
  if (!block || block.type !== 'CERTIFICATE REQUEST')
    throw new CertificateRequestError('PEM block type must be CERTIFICATE REQUEST')
  return parseCertificateRequest(block.der)
}

/** Reads a DER-encoded PKCS#10 request; throws CertificateRequestError when it is malformed. */
export function parseCertificateRequest(der: Buffer): CertificateRequest {
  try {
    return readRequest(der)
  } catch (err) {
    if (err instanceof CertificateRequestError) throw err
    throw new CertificateRequestError('x509: malformed certificate request')
  }
}

/** Checks that the request is signed by the key it carries (x509.CertificateRequest.CheckSignature). */
export function checkCertificateRequestSignature(req: CertificateRequest): void {
  const alg = signatureAlgorithms.get(req.signatureAlgorithm)
  if (!alg) throw new CertificateRequestError('x509: cannot verify signature: algorithm unimplemented')
  if (alg.key !== req.publicKeyAlgorithm)
    throw new CertificateRequestError('x509: signature algorithm specifies an incompatible public key type')
  let ok: boolean
  try {
    const key = createPublicKey({ key: req.publicKeyDer, format: 'der', type: 'spki' })
    ok = verify(alg.hash, req.signedDer, key, req.signature)
  } catch {
    ok = false
  }
  if (!ok) throw new CertificateRequestError(alg.failure)
}

/** The PEM of a CSR's spec.request (base64 in the API) decoded, parsed and its signature checked. */
export function readCertificateRequest(request: string): CertificateRequest {
  const req = parseCertificateRequestPem(Buffer.from(request, 'base64'))
  checkCertificateRequestSignature(req)
  return req
}

/**
 * The certificates of a PEM bundle (status.certificate, decoded), as Kubernetes validates it:
 * only CERTIFICATE blocks, without headers, each holding a certificate, at least one.
 */
export function parseCertificatesPem(pem: string): X509Certificate[] {
  const certs: X509Certificate[] = []
  let rest = pem
  for (;;) {
    const block = decodePem(rest)
    if (!block) break
    if (block.type !== 'CERTIFICATE')
      throw new CertificateRequestError(`only CERTIFICATE PEM blocks are allowed, found "${block.type}"`)
    if (block.headers) throw new CertificateRequestError('no PEM block headers are permitted')
    try {
      certs.push(new X509Certificate(block.der))
    } catch {
      throw new CertificateRequestError('x509: malformed certificate')
    }
    rest = block.rest
  }
  if (certs.length === 0) throw new CertificateRequestError('must contain at least one CERTIFICATE PEM block')
  return certs
}

// --- the request ---------------------------------------------------------------------------------

const oid = {
  commonName: '2.5.4.3',
  serialNumber: '2.5.4.5',
  country: '2.5.4.6',
  locality: '2.5.4.7',
  province: '2.5.4.8',
  organization: '2.5.4.10',
  organizationalUnit: '2.5.4.11',
  extensionRequest: '1.2.840.113549.1.9.14',
  subjectAltName: '2.5.29.17',
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecPublicKey: '1.2.840.10045.2.1',
  ed25519: '1.3.101.112',
}

const signatureAlgorithms = new Map<
  string,
  { hash: string | null; key: PublicKeyAlgorithm; failure: string }
>([
  ['1.2.840.113549.1.1.11', { hash: 'sha256', key: 'RSA', failure: 'crypto/rsa: verification error' }],
  ['1.2.840.113549.1.1.12', { hash: 'sha384', key: 'RSA', failure: 'crypto/rsa: verification error' }],
  ['1.2.840.113549.1.1.13', { hash: 'sha512', key: 'RSA', failure: 'crypto/rsa: verification error' }],
  ['1.2.840.10045.4.3.2', { hash: 'sha256', key: 'ECDSA', failure: 'x509: ECDSA verification failure' }],
  ['1.2.840.10045.4.3.3', { hash: 'sha384', key: 'ECDSA', failure: 'x509: ECDSA verification failure' }],
  ['1.2.840.10045.4.3.4', { hash: 'sha512', key: 'ECDSA', failure: 'x509: ECDSA verification failure' }],
  ['1.3.101.112', { hash: null, key: 'Ed25519', failure: 'x509: Ed25519 verification failure' }],
])

function readRequest(der: Buffer): CertificateRequest {
  const outer = readTlv(der, 0)
  if (outer.tag !== tags.sequence || outer.end !== der.length) throw malformed()
  const [info, sigAlg, sig] = children(der, outer)
  if (!info || !sigAlg || !sig || info.tag !== tags.sequence || sig.tag !== tags.bitString) throw malformed()
  const parts = children(der, info)
  const [version, subject, spki] = parts
  if (!version || !subject || !spki || version.tag !== tags.integer) throw malformed()
  if (!value(der, version).equals(Buffer.from([0]))) throw malformed()
  if (subject.tag !== tags.sequence || spki.tag !== tags.sequence) throw malformed()
  const sans = {
    dnsNames: [] as string[],
    emailAddresses: [] as string[],
    ips: [] as string[],
    uris: [] as string[],
  }
  for (const attrs of parts.slice(3)) {
    if (attrs.tag !== 0xa0) throw malformed()
    for (const attr of children(der, attrs)) readAttribute(der, attr, sans)
  }
  const sigValue = value(der, sig)
  if (sigValue.length === 0 || sigValue[0] !== 0) throw malformed()
  return {
    subject: readName(der, subject),
    subjectDer: Buffer.from(whole(der, subject)),
    dnsNames: sans.dnsNames,
    emailAddresses: sans.emailAddresses,
    ipAddresses: sans.ips,
    uris: sans.uris,
    publicKeyDer: Buffer.from(whole(der, spki)),
    publicKeyAlgorithm: keyAlgorithm(der, spki),
    signedDer: Buffer.from(whole(der, info)),
    signatureAlgorithm: algorithmOid(der, sigAlg),
    signature: Buffer.from(sigValue.subarray(1)),
  }
}

function readName(der: Buffer, name: Tlv): DistinguishedName {
  const dn = {
    commonName: '',
    organizations: [] as string[],
    organizationalUnits: [] as string[],
    countries: [] as string[],
    localities: [] as string[],
    provinces: [] as string[],
    serialNumber: '',
  }
  for (const rdn of children(der, name)) {
    if (rdn.tag !== tags.set) throw malformed()
    for (const atv of children(der, rdn)) {
      const [type, v] = children(der, atv)
      if (!type || !v || type.tag !== tags.oid) throw malformed()
      const text = readString(der, v)
      switch (readOid(value(der, type))) {
        case oid.commonName:
          dn.commonName = text
          break
        case oid.serialNumber:
          dn.serialNumber = text
          break
        case oid.organization:
          dn.organizations.push(text)
          break
        case oid.organizationalUnit:
          dn.organizationalUnits.push(text)
          break
        case oid.country:
          dn.countries.push(text)
          break
        case oid.locality:
          dn.localities.push(text)
          break
        case oid.province:
          dn.provinces.push(text)
          break
      }
    }
  }
  return dn
}

function readAttribute(
  der: Buffer,
  attr: Tlv,
  sans: { dnsNames: string[]; emailAddresses: string[]; ips: string[]; uris: string[] },
): void {
  const [type, values] = children(der, attr)
  if (!type || !values || type.tag !== tags.oid || values.tag !== tags.set) throw malformed()
  if (readOid(value(der, type)) !== oid.extensionRequest) return
  for (const extensions of children(der, values)) {
    for (const ext of children(der, extensions)) {
      const parts = children(der, ext)
      const id = parts[0]
      const octets = parts[parts.length - 1]
      if (!id || !octets || id.tag !== tags.oid || octets.tag !== tags.octetString) throw malformed()
      if (readOid(value(der, id)) !== oid.subjectAltName) continue
      const inner = value(der, octets)
      const names = readTlv(inner, 0)
      if (names.tag !== tags.sequence) throw malformed()
      for (const gn of children(inner, names)) {
        const v = value(inner, gn)
        switch (gn.tag) {
          case 0x81:
            sans.emailAddresses.push(v.toString('latin1'))
            break
          case 0x82:
            sans.dnsNames.push(v.toString('latin1'))
            break
          case 0x86:
            sans.uris.push(v.toString('latin1'))
            break
          case 0x87:
            sans.ips.push(ipString(v))
            break
        }
      }
    }
  }
}

function keyAlgorithm(der: Buffer, spki: Tlv): PublicKeyAlgorithm {
  const [alg] = children(der, spki)
  if (!alg || alg.tag !== tags.sequence) throw malformed()
  switch (algorithmOid(der, alg)) {
    case oid.rsaEncryption:
      return 'RSA'
    case oid.ecPublicKey:
      return 'ECDSA'
    case oid.ed25519:
      return 'Ed25519'
    default:
      return 'unknown'
  }
}

function algorithmOid(der: Buffer, alg: Tlv): string {
  const [id] = children(der, alg)
  if (!id || id.tag !== tags.oid) throw malformed()
  return readOid(value(der, id))
}

function ipString(b: Buffer): string {
  if (b.length === 4) return [...b].join('.')
  if (b.length === 16) {
    const groups: string[] = []
    for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16))
    return compressIPv6(groups)
  }
  throw malformed()
}

/** The canonical text of an IPv6 address (RFC 5952): the longest run of zero groups as ::. */
function compressIPv6(groups: string[]): string {
  let best = { at: -1, len: 0 }
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== '0') {
      i++
      continue
    }
    let j = i
    while (j < groups.length && groups[j] === '0') j++
    if (j - i > best.len && j - i > 1) best = { at: i, len: j - i }
    i = j
  }
  if (best.at < 0) return groups.join(':')
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`
}

// --- DER -----------------------------------------------------------------------------------------

const tags = {
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  sequence: 0x30,
  set: 0x31,
}

/** One tag-length-value: `start` is where the value begins, `end` where it stops. */
interface Tlv {
  readonly tag: number
  readonly offset: number
  readonly start: number
  readonly end: number
}

function malformed(): CertificateRequestError {
  return new CertificateRequestError('x509: malformed certificate request')
}

function readTlv(buf: Buffer, offset: number): Tlv {
  if (offset + 2 > buf.length) throw malformed()
  const tag = buf[offset] ?? 0
  if ((tag & 0x1f) === 0x1f) throw malformed() // high tag numbers: not in a request
  let len = buf[offset + 1] ?? 0
  let start = offset + 2
  if (len & 0x80) {
    const n = len & 0x7f
    if (n === 0 || n > 4 || start + n > buf.length) throw malformed()
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + (buf[start + i] ?? 0)
    start += n
  }
  const end = start + len
  if (end > buf.length) throw malformed()
  return { tag, offset, start, end }
}

function children(buf: Buffer, parent: Tlv): Tlv[] {
  if ((parent.tag & 0x20) === 0) throw malformed()
  const out: Tlv[] = []
  for (let at = parent.start; at < parent.end;) {
    const t = readTlv(buf, at)
    if (t.end > parent.end) throw malformed()
    out.push(t)
    at = t.end
  }
  return out
}

function value(buf: Buffer, t: Tlv): Buffer {
  return buf.subarray(t.start, t.end)
}

function whole(buf: Buffer, t: Tlv): Buffer {
  return buf.subarray(t.offset, t.end)
}

function readOid(b: Buffer): string {
  if (b.length === 0) throw malformed()
  const first = b[0] ?? 0
  const parts = [Math.min(2, Math.floor(first / 40)), first - Math.min(2, Math.floor(first / 40)) * 40]
  let n = 0
  for (let i = 1; i < b.length; i++) {
    const byte = b[i] ?? 0
    n = n * 128 + (byte & 0x7f)
    if ((byte & 0x80) === 0) {
      parts.push(n)
      n = 0
    }
  }
  return parts.join('.')
}

/** The directory string types a Name may use: UTF8, Printable, T61, IA5, Universal, BMP. */
function readString(der: Buffer, t: Tlv): string {
  const v = value(der, t)
  switch (t.tag) {
    case 0x0c:
      return v.toString('utf8')
    case 0x13:
    case 0x14:
    case 0x16:
      return v.toString('latin1')
    case 0x1e:
      return Buffer.from(v).swap16().toString('utf16le')
    case 0x1c: {
      let s = ''
      for (let i = 0; i + 4 <= v.length; i += 4) s += String.fromCodePoint(v.readUInt32BE(i))
      return s
    }
    default:
      return v.toString('latin1')
  }
}
