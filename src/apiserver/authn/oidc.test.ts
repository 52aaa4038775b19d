import assert from 'node:assert/strict'
import { test } from 'node:test'
import { pino } from 'pino'
import { realClock } from '../../base/clock.ts'
import { oidcAuthenticator, usernamePrefixOf, validateOidcSettings, type OidcSettings } from './oidc.ts'

const issuerUrl = 'https://issuer.example'
const saIssuers = ['https://kubernetes.default.svc.cluster.local']
const settings = (o: Partial<OidcSettings> = {}): OidcSettings => ({ issuerUrl, clientId: 'k8ts', ...o })

test('the username prefix: the issuer and # by default, none for email, none with -', () => {
  const cases: [Partial<OidcSettings>, string][] = [
    [{}, 'https://issuer.example#'],
    [{ usernameClaim: 'preferred_username' }, 'https://issuer.example#'],
    [{ usernameClaim: 'email' }, ''],
    [{ usernamePrefix: '' }, 'https://issuer.example#'],
    [{ usernamePrefix: '-' }, ''],
    [{ usernameClaim: 'email', usernamePrefix: 'oidc:' }, 'oidc:'],
    [{ usernamePrefix: 'oidc:' }, 'oidc:'],
  ]
  for (const [o, want] of cases) assert.equal(usernamePrefixOf(settings(o)), want, JSON.stringify(o))
})

test('settings kube-apiserver refuses, in its words', () => {
  const cases: [string, Partial<OidcSettings>, string | undefined][] = [
    ['good ones', { signingAlgs: ['RS256', 'ES256'], requiredClaims: { hd: 'x' } }, undefined],
    [
      'an http issuer',
      { issuerUrl: 'http://issuer.example' },
      'invalid authentication configuration: jwt[0].issuer.url: Invalid value: "http://issuer.example": URL scheme must be https',
    ],
    [
      'an issuer with a query and a fragment',
      { issuerUrl: 'https://issuer.example/?a=b#c' },
      'invalid authentication configuration: [jwt[0].issuer.url: Invalid value: "https://issuer.example/?a=b#c": URL must not contain a query, jwt[0].issuer.url: Invalid value: "https://issuer.example/?a=b#c": URL must not contain a fragment]',
    ],
    [
      'an issuer with a user',
      { issuerUrl: 'https://me@issuer.example' },
      'invalid authentication configuration: jwt[0].issuer.url: Invalid value: "https://me@issuer.example": URL must not contain a username or password',
    ],
    [
      'the service account issuer',
      { issuerUrl: saIssuers[0] },
      'invalid authentication configuration: jwt[0].issuer.url: Invalid value: "https://kubernetes.default.svc.cluster.local": URL must not overlap with disallowed issuers: [https://kubernetes.default.svc.cluster.local]',
    ],
    [
      'a CA file without certificates',
      { caPem: 'not a certificate' },
      'invalid authentication configuration: jwt[0].issuer.certificateAuthority: Invalid value: "<omitted>": data does not contain any valid RSA or ECDSA certificates',
    ],
    [
      'an empty username claim',
      { usernameClaim: '' },
      'invalid authentication configuration: jwt[0].claimMappings.username: Required value: claim or expression is required',
    ],
    ['HS256', { signingAlgs: ['RS256', 'HS256'] }, 'oidc: unsupported signing alg: "HS256"'],
    ['none', { signingAlgs: ['none'] }, 'oidc: unsupported signing alg: "none"'],
  ]
  for (const [what, o, want] of cases) assert.equal(validateOidcSettings(settings(o), saIssuers), want, what)
})

test('before the provider has answered discovery, its tokens are refused and others are left alone', async () => {
  // Nothing listens on port 1: discovery fails at once, and is retried until stop().
  const issuer = 'https://127.0.0.1:1'
  const auth = oidcAuthenticator({
    settings: { issuerUrl: issuer, clientId: 'k8ts' },
    clock: realClock,
    log: pino({ level: 'silent' }),
  })
  const jwt = (claims: object) =>
    ['{"alg":"RS256"}', JSON.stringify(claims), 'sig']
      .map((p) => Buffer.from(p).toString('base64url'))
      .join('.')
  try {
    assert.deepEqual(await auth.authenticateToken(jwt({ iss: issuer, aud: 'k8ts' }), []), {
      kind: 'rejected',
      reason: 'oidc: authenticator not initialized',
    })
    assert.equal(auth.authenticateToken(jwt({ iss: 'https://elsewhere.example' }), []), undefined)
    assert.equal(auth.authenticateToken('not-a-jwt', []), undefined)
    assert.equal(auth.authenticateToken(`${jwt({ iss: issuer })}.extra`, []), undefined)
  } finally {
    await auth.stop()
  }
})
