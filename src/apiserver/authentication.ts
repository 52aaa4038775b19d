import type { Logger } from 'pino'
import type { Clock } from '../base/clock.ts'
import {
  TokenGenerator,
  defaultServiceAccountIssuer,
  signingKeyFromPem,
  verificationKeysFromPem,
  type VerificationKey,
} from '../pki/index.ts'
import { withAuthenticatedGroup, type Authenticator } from './authn/authenticator.ts'
import { bootstrapTokenAuthenticator } from './authn/bootstrap-token.ts'
import { oidcAuthenticator, validateOidcSettings, type OidcSettings } from './authn/oidc.ts'
import { legacyTokenStamper, registryLookup } from './authn/lookup.ts'
import { serviceAccountTokenAuthenticators } from './authn/service-account.ts'
import {
  audienceAgnostic,
  authenticateToken,
  bearerTokenAuthenticator,
  type TokenAuthenticator,
  type TokenOutcome,
} from './authn/token.ts'
import { tokenFileAuthenticator } from './authn/token-file.ts'
import { x509Authenticator } from './authn/x509.ts'
import type { AdmissionChain } from './admission/admission.ts'
import type { Handler } from './context.ts'
import type { EndpointRegistry, Subresource } from './endpoint.ts'
import { selfSubjectReviewHandler, tokenReviewHandler } from './handlers/authentication-reviews.ts'
import { openIDMetadataHandlers } from './handlers/openid-metadata.ts'
import type { ResourceHandlerDeps } from './handlers/resources.ts'
import { tokenRequestSubresource } from './handlers/token-request.ts'

/**
 * How the apiserver authenticates, with kube-apiserver's flags. Plain data (PEM texts, not
 * files), so it crosses into worker threads as it is.
 */
export interface AuthenticationSettings {
  /** --token-auth-file */
  tokenAuthFile?: string
  /**
   * --service-account-issuer: the first issues tokens, all are accepted (to move to a new issuer
   * without invalidating tokens). Default https://kubernetes.default.svc.cluster.local.
   */
  serviceAccountIssuers?: readonly string[]
  /** --service-account-signing-key-file, read: the private key tokens are signed with. */
  serviceAccountSigningKey?: string
  /** --service-account-key-file, read: keys that verify tokens (default: the signing key's). */
  serviceAccountKeys?: readonly string[]
  /** --api-audiences: what tokens for the apiserver are for (default: the issuers). */
  apiAudiences?: readonly string[]
  /** --service-account-jwks-uri */
  serviceAccountJwksUri?: string
  /** --service-account-max-token-expiration in seconds (0 or absent: no limit). */
  serviceAccountMaxTokenExpirationSeconds?: number
  /** --service-account-extend-token-expiration (default true). */
  serviceAccountExtendTokenExpiration?: boolean
  /** --enable-bootstrap-token-auth */
  enableBootstrapTokenAuth?: boolean
  /** --oidc-issuer-url, --oidc-client-id and the other --oidc-* flags: users' ID tokens. */
  oidc?: OidcSettings
}

/** Everything of authentication a front serves, built once per front. */
export interface Authentication {
  readonly authenticators: readonly Authenticator[]
  readonly apiAudiences: readonly string[]
  /** What the token authenticators say of a token (TokenReview). */
  review(token: string, audiences: readonly string[]): TokenOutcome | Promise<TokenOutcome>
  /** serviceaccounts/token */
  readonly tokenRequest: (deps: ResourceHandlerDeps) => Subresource
  /** The authentication.k8s.io reviews by group/resource. */
  readonly reviews: ReadonlyMap<string, (deps: ResourceHandlerDeps) => Handler>
  /** The OIDC discovery documents of the service account issuer, by path. */
  readonly paths: ReadonlyMap<string, Handler>
  /** Stops what runs in the background (the OIDC provider's discovery). */
  stop(): Promise<void>
}

export function setUpAuthentication(o: {
  settings: AuthenticationSettings
  endpoints: () => EndpointRegistry
  admission: AdmissionChain | undefined
  /** host:port clients reach this apiserver at, once it listens. */
  externalAddress: () => string
  clock: Clock
  log: Logger
}): Authentication {
  const s = o.settings
  const issuers = s.serviceAccountIssuers?.length ? s.serviceAccountIssuers : [defaultServiceAccountIssuer]
  const apiAudiences = s.apiAudiences?.length ? s.apiAudiences : issuers
  const signing = s.serviceAccountSigningKey ? signingKeyFromPem(s.serviceAccountSigningKey) : undefined
  const keys: VerificationKey[] = s.serviceAccountKeys?.length
    ? s.serviceAccountKeys.flatMap((pem) => verificationKeysFromPem(pem))
    : signing
      ? [signing.publicKey]
      : []
  const lookup = registryLookup(o.endpoints)

  const tokens: TokenAuthenticator[] = []
  if (s.tokenAuthFile) tokens.push(audienceAgnostic(tokenFileAuthenticator(s.tokenAuthFile), apiAudiences))
  if (keys.length > 0) {
    tokens.push(
      ...serviceAccountTokenAuthenticators({
        issuers,
        keys,
        apiAudiences,
        lookup,
        clock: o.clock,
        markUsed: legacyTokenStamper(o.endpoints, o.log),
      }),
    )
  }
  if (s.enableBootstrapTokenAuth)
    tokens.push(audienceAgnostic(bootstrapTokenAuthenticator({ lookup, clock: o.clock }), apiAudiences))
  // OIDC after the service accounts, as kube-apiserver keeps it: both verify JWTs, and only OIDC
  // may go to its provider for keys.
  let oidc: ReturnType<typeof oidcAuthenticator> | undefined
  if (s.oidc) {
    const invalid = validateOidcSettings(s.oidc, issuers)
    if (invalid !== undefined) throw new Error(invalid)
    oidc = oidcAuthenticator({ settings: s.oidc, clock: o.clock, log: o.log })
    tokens.push(audienceAgnostic(oidc, apiAudiences))
  }

  // A TokenReview answers as a request with the token is authenticated: its user is in
  // system:authenticated too (kube-apiserver reviews through its whole request authenticator).
  const reviewed = (o: TokenOutcome): TokenOutcome =>
    o.authenticated ? { ...o, user: withAuthenticatedGroup(o.user) } : o
  const review = (token: string, audiences: readonly string[]) => {
    const outcome = authenticateToken(tokens, token, audiences)
    return outcome instanceof Promise ? outcome.then(reviewed) : reviewed(outcome)
  }
  const generator = signing
    ? new TokenGenerator(issuers[0] ?? defaultServiceAccountIssuer, signing)
    : undefined
  return {
    authenticators: [x509Authenticator(), bearerTokenAuthenticator(tokens, apiAudiences)],
    apiAudiences,
    review,
    tokenRequest: (deps) =>
      tokenRequestSubresource(deps, {
        generator,
        apiAudiences,
        maxExpirationSeconds: s.serviceAccountMaxTokenExpirationSeconds ?? 0,
        extendExpiration: s.serviceAccountExtendTokenExpiration ?? true,
        admission: o.admission,
        clock: o.clock,
      }),
    reviews: new Map([
      ['authentication.k8s.io/tokenreviews', (deps) => tokenReviewHandler(deps, { review, apiAudiences })],
      ['authentication.k8s.io/selfsubjectreviews', (deps) => selfSubjectReviewHandler(deps, o.clock)],
    ]),
    paths: openIDMetadataHandlers({
      issuer: issuers[0] ?? defaultServiceAccountIssuer,
      keys,
      ...(s.serviceAccountJwksUri ? { jwksUri: s.serviceAccountJwksUri } : {}),
      externalAddress: o.externalAddress,
    }),
    stop: async () => {
      await oidc?.stop()
    },
  }
}
