import {
  X509Certificate,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The keys service account tokens are signed and verified with.
 *
 * kube-apiserver signs with the private key of --service-account-signing-key-file and verifies
 * with every public key of --service-account-key-file; kube-controller-manager signs the legacy
 * Secret-based tokens with --service-account-private-key-file. A cluster made by k8ts keeps one
 * ECDSA P-256 pair under <data-dir>/pki (sa.key, sa.pub, as kubeadm names them), made on first
 * start and kept after: replacing it would invalidate every token in circulation.
 *
 * Each key has an ID that tokens carry in their `kid` header and the JWKS publishes: the
 * unpadded base64url SHA-256 of the public key's DER (SubjectPublicKeyInfo) encoding, as
 * Kubernetes derives it, so the ID tells nothing about the key itself.
 */
export interface SigningKey {
  readonly privateKey: KeyObject
  readonly publicKey: VerificationKey
}

export interface VerificationKey {
  readonly keyId: string
  readonly key: KeyObject
  /** The JWS algorithm the key signs with: ES256 for P-256, ES384, ES512, or RS256 for RSA. */
  readonly algorithm: string
}

/** Where the data directory keeps the service account key pair. */
export function serviceAccountKeyFiles(dataDir: string): { privateKeyFile: string; publicKeyFile: string } {
  const dir = join(dataDir, 'pki')
  return { privateKeyFile: join(dir, 'sa.key'), publicKeyFile: join(dir, 'sa.pub') }
}

/** The data directory's key pair, made (P-256, PKCS#8 and SPKI PEM) when it does not exist yet. */
export function ensureServiceAccountKey(dataDir: string): { privateKeyFile: string; publicKeyFile: string } {
  const files = serviceAccountKeyFiles(dataDir)
  if (existsSync(files.privateKeyFile)) {
    if (!existsSync(files.publicKeyFile)) {
      const pub = createPublicKey(createPrivateKey(readFileSync(files.privateKeyFile, 'utf8')))
      writeFileSync(files.publicKeyFile, pub.export({ type: 'spki', format: 'pem' }), { mode: 0o644 })
    }
    return files
  }
  mkdirSync(join(dataDir, 'pki'), { recursive: true, mode: 0o700 })
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  writeFileSync(files.privateKeyFile, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  })
  writeFileSync(files.publicKeyFile, pair.publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 })
  return files
}

/** The private key of a PEM text (PKCS#8, PKCS#1 RSA or SEC1 EC), with its public half. */
export function signingKeyFromPem(pem: string): SigningKey {
  const privateKey = createPrivateKey(pem)
  return { privateKey, publicKey: verificationKey(createPublicKey(privateKey)) }
}

/**
 * Every key of a PEM text that can verify a signature: public keys, and the public half of
 * private keys and certificates (kube-apiserver's --service-account-key-file takes all three).
 */
export function verificationKeysFromPem(pem: string): VerificationKey[] {
  const blocks = pem.match(/-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g) ?? []
  const keys: VerificationKey[] = []
  for (const block of blocks) {
    const type = /-----BEGIN ([A-Z ]+)-----/.exec(block)?.[1] ?? ''
    if (type === 'CERTIFICATE') keys.push(verificationKey(new X509Certificate(block).publicKey))
    else if (type.endsWith('PRIVATE KEY'))
      keys.push(verificationKey(createPublicKey(createPrivateKey(block))))
    else if (type.endsWith('PUBLIC KEY')) keys.push(verificationKey(createPublicKey(block)))
  }
  if (keys.length === 0) throw new Error('no public keys, private keys or certificates in the PEM data')
  return keys
}

/** A public key with its ID and algorithm. */
export function verificationKey(key: KeyObject): VerificationKey {
  return { keyId: keyIdOf(key), key, algorithm: algorithmOf(key) }
}

/** Kubernetes' key ID: base64url (unpadded) of the SHA-256 of the public key's DER SPKI encoding. */
export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' })
  return createHash('sha256').update(der).digest('base64url')
}

function algorithmOf(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256'
    case 'ec':
      switch (key.asymmetricKeyDetails?.namedCurve) {
        case 'prime256v1':
          return 'ES256'
        case 'secp384r1':
          return 'ES384'
        case 'secp521r1':
          return 'ES512'
        default:
          throw new Error('unknown private key curve, must be 256, 384, or 521')
      }
    default:
      throw new Error(
        `unknown key type ${key.asymmetricKeyType ?? ''}, must be an RSA or ECDSA (P-256, P-384, P-521) key`,
      )
  }
}

/**
 * The JSON Web Key Set of the public keys, as /openid/v1/jwks serves it: each key with use,
 * kty, kid, crv and alg, then its parameters, in the order Kubernetes writes them.
 */
export function publicJwks(keys: readonly VerificationKey[]): { keys: Record<string, string>[] } {
  return {
    keys: keys.map((k): Record<string, string> => {
      const jwk = k.key.export({ format: 'jwk' })
      if (jwk.kty === 'EC') {
        return {
          use: 'sig',
          kty: 'EC',
          kid: k.keyId,
          crv: jwk.crv ?? '',
          alg: k.algorithm,
          x: jwk.x ?? '',
          y: jwk.y ?? '',
        }
      }
      return { use: 'sig', kty: 'RSA', kid: k.keyId, alg: k.algorithm, n: jwk.n ?? '', e: jwk.e ?? '' }
    }),
  }
}
