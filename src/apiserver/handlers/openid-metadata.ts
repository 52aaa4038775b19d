import { publicJwks, type VerificationKey } from '../../pki/index.ts'
import { writeJson, type Handler } from '../context.ts'

/**
 * OIDC discovery for the service account issuer (ServiceAccountIssuerDiscovery): relying
 * parties outside the cluster find the keys that verify service account tokens here.
 *
 *   /.well-known/openid-configuration   issuer, jwks_uri, response_types_supported [id_token],
 *                                       subject_types_supported [public], signing algorithms
 *   /openid/v1/jwks                     the public keys (application/jwk-set+json)
 *
 * Both may be cached for an hour (Cache-Control: public, max-age=3600). As in Kubernetes, the
 * documents are served only when the issuer is an https URL without query or fragment; the
 * jwks_uri is --service-account-jwks-uri, or this apiserver's external address.
 */
export const openIDConfigPath = '/.well-known/openid-configuration'
export const jwksPath = '/openid/v1/jwks'

export interface OpenIDMetadataOptions {
  issuer: string
  keys: readonly VerificationKey[]
  /** --service-account-jwks-uri; otherwise https://<external address>/openid/v1/jwks. */
  jwksUri?: string
  /** host:port clients reach this apiserver at (known once it listens). */
  externalAddress: () => string
}

/** The two handlers, or none when the issuer cannot be an OIDC issuer (as Kubernetes then skips them). */
export function openIDMetadataHandlers(o: OpenIDMetadataOptions): Map<string, Handler> {
  const handlers = new Map<string, Handler>()
  if (!isOIDCIssuer(o.issuer) || o.keys.length === 0) return handlers
  const keyset = Buffer.from(JSON.stringify(publicJwks(o.keys)))
  const algorithms = [...new Set(o.keys.map((k) => k.algorithm))].sort()
  let config: Buffer | undefined
  const configJson = () =>
    (config ??= Buffer.from(
      JSON.stringify({
        issuer: o.issuer,
        jwks_uri: o.jwksUri ?? `https://${o.externalAddress()}${jwksPath}`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: algorithms,
      }),
    ))
  handlers.set(openIDConfigPath, (ctx) => {
    ctx.res.setHeader('Cache-Control', 'public, max-age=3600')
    writeJson(ctx, 200, configJson(), 'application/json')
  })
  handlers.set(jwksPath, (ctx) => {
    ctx.res.setHeader('Cache-Control', 'public, max-age=3600')
    writeJson(ctx, 200, keyset, 'application/jwk-set+json')
  })
  return handlers
}

function isOIDCIssuer(issuer: string): boolean {
  try {
    const u = new URL(issuer)
    return u.protocol === 'https:' && u.search === '' && u.hash === ''
  } catch {
    return false
  }
}
