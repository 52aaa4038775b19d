import type { FieldError } from '../../api/field-errors.ts'
import { invalid as invalidField, tooLong } from '../../api/field-errors.ts'
import type { TokenRequest } from '../../api/generated/types/authentication-v1.ts'
import type { Node, Pod, ServiceAccount } from '../../api/generated/types/core-v1.ts'
import type { StoredObject } from '../../api/object.ts'
import type { Clock } from '../../base/clock.ts'
import {
  boundTokenClaims,
  expirationExtensionSeconds,
  warnOnlyBoundTokenExpirationSeconds,
  type ClaimRef,
  type TokenGenerator,
} from '../../pki/index.ts'
import type { AdmissionChain } from '../admission/admission.ts'
import { writeJson } from '../context.ts'
import type { Subresource } from '../endpoint.ts'
import { ApiError, badRequest, conflict, invalid, methodNotSupported } from '../errors.ts'
import { rfc3339 } from '../registry/store.ts'
import type { ResourceRequestInfo } from '../request-info.ts'
import { readObject, type ResourceHandlerDeps } from './resources.ts'

/** The TokenRequest API's lifetime rules (kube-apiserver's --service-account-* flags). */
export interface TokenRequestOptions {
  /** Signs bound tokens with the apiserver's issuer (undefined: no signing key, no tokens). */
  generator: TokenGenerator | undefined
  /** What tokens are for when the request names no audience: the apiserver's own (--api-audiences). */
  apiAudiences: readonly string[]
  /** --service-account-max-token-expiration in seconds; 0 for no limit. */
  maxExpirationSeconds: number
  /** --service-account-extend-token-expiration (default true): see warnOnlyBoundTokenExpirationSeconds. */
  extendExpiration: boolean
  admission: AdmissionChain | undefined
  clock: Clock
}

const tokenRequestKind = { group: 'authentication.k8s.io', kind: 'TokenRequest' }
const defaultExpirationSeconds = 3600
const minExpirationSeconds = 10 * 60
const maxExpirationSecondsAllowed = 2 ** 32

/**
 * serviceaccounts/token (create): a TokenRequest in, the same TokenRequest out with a signed
 * bound token in status, as Kubernetes' TokenREST does:
 *
 *   the service account must exist → audiences default to the apiserver's → expirationSeconds
 *   (default 3600) at least 10 minutes → admission → the bound object (a Pod running as this
 *   service account, with its node; a Secret; a Node) must exist, with the UID given if any →
 *   the lifetime is capped by the maximum (with a warning) and, for a pod-bound token of 3607 s
 *   for the apiserver, extended to a year with `warnafter` at the hour → signed.
 */
export function tokenRequestSubresource(
  deps: Pick<ResourceHandlerDeps, 'decodeProtobuf' | 'endpoints'>,
  o: TokenRequestOptions,
): Subresource {
  const store = (resource: string) => {
    const s = deps.endpoints.lookup('', 'v1', resource)?.store
    if (!s) throw new Error(`no store for ${resource}`)
    return s
  }
  const maxExtendedExpirationSeconds = Math.max(o.maxExpirationSeconds, expirationExtensionSeconds)
  return {
    group: 'authentication.k8s.io',
    version: 'v1',
    kind: 'TokenRequest',
    verbs: ['create'],
    handle: async (ctx) => {
      const info = ctx.info as ResourceRequestInfo
      if (info.verb !== 'create')
        throw methodNotSupported({ group: '', resource: 'serviceaccounts/token' }, info.verb)
      const { namespace, name } = info
      const { obj } = await readObject(ctx, deps, {
        group: 'authentication.k8s.io',
        version: 'v1',
        kind: 'TokenRequest',
      })
      const req = obj as TokenRequest & StoredObject
      const meta = req.metadata
      if (meta.name && meta.name !== name) {
        throw invalid(tokenRequestKind, name, [
          invalidField('metadata.name', meta.name, 'must match the service account name if specified'),
        ])
      }
      if (meta.namespace && meta.namespace !== namespace) {
        throw invalid(tokenRequestKind, name, [
          invalidField(
            'metadata.namespace',
            meta.namespace,
            'must match the service account namespace if specified',
          ),
        ])
      }
      const sa = (await store('serviceaccounts').get(namespace, name)).object as Readonly<
        ServiceAccount & StoredObject
      >
      const saUID = sa.metadata.uid ?? ''
      if (meta.uid && meta.uid !== saUID) {
        throw conflict(
          { group: 'authentication.k8s.io', resource: 'TokenRequest' },
          name,
          `the UID in the token request (${meta.uid}) does not match the UID of the service account (${saUID})`,
        )
      }
      const spec = (req.spec ??= {})
      if (!spec.audiences || spec.audiences.length === 0) spec.audiences = [...o.apiAudiences]
      spec.expirationSeconds ??= defaultExpirationSeconds
      const now = o.clock.now()
      req.metadata = {
        name,
        namespace,
        uid: saUID,
        creationTimestamp: rfc3339(now),
      }
      delete req.status
      const errors: FieldError[] = []
      if (spec.expirationSeconds < minExpirationSeconds) {
        errors.push(
          invalidField(
            'spec.expirationSeconds',
            spec.expirationSeconds,
            'may not specify a duration less than 10 minutes',
          ),
        )
      }
      if (spec.expirationSeconds > maxExpirationSecondsAllowed) {
        errors.push(tooLong('spec.expirationSeconds', spec.expirationSeconds, maxExpirationSecondsAllowed))
      }
      if (errors.length > 0) throw invalid(tokenRequestKind, '', errors)
      if (!o.generator) {
        throw new ApiError({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'the apiserver has no service account signing key, so it issues no tokens',
          reason: 'ServiceUnavailable',
          code: 503,
        })
      }
      if (o.admission) {
        const attrs = {
          operation: 'CREATE' as const,
          group: '',
          version: 'v1',
          resource: 'serviceaccounts',
          subresource: 'token',
          kind: 'TokenRequest',
          namespace,
          name,
          object: req,
          oldObject: undefined,
          dryRun: false,
          user: ctx.user,
          warnings: ctx.warnings,
        }
        await o.admission.admit(attrs)
        await o.admission.validate(attrs)
      }

      let pod: Readonly<Pod & StoredObject> | undefined
      let podNode: ClaimRef | undefined
      let secret: ClaimRef | undefined
      let node: ClaimRef | undefined
      const ref = spec.boundObjectRef
      if (ref) {
        const { group, version } = splitApiVersion(ref.apiVersion ?? '')
        const kind = ref.kind ?? ''
        const refName = ref.name ?? ''
        let uid: string
        if (group === '' && kind === 'Pod') {
          pod = (await store('pods').get(namespace, refName)).object
          if (name !== pod.spec?.serviceAccountName) {
            throw badRequest(
              `cannot bind token for serviceaccount "${name}" to pod running with different serviceaccount name.`,
            )
          }
          uid = pod.metadata.uid ?? ''
          const nodeName = pod.spec.nodeName ?? ''
          if (nodeName !== '') {
            // A node that does not exist (yet) still goes in by name, so the token tells where the pod runs.
            const n = await getOrUndefined(store('nodes'), '', nodeName)
            podNode = { name: nodeName, ...(n?.metadata.uid ? { uid: n.metadata.uid } : {}) }
          }
        } else if (group === '' && kind === 'Node') {
          const n = (await store('nodes').get('', refName)).object as Readonly<Node & StoredObject>
          uid = n.metadata.uid ?? ''
          node = { name: refName, uid }
        } else if (group === '' && kind === 'Secret') {
          const s = (await store('secrets').get(namespace, refName)).object
          uid = s.metadata.uid ?? ''
          secret = { name: refName, uid }
        } else {
          throw badRequest(`cannot bind token to object of type ${group}/${version}, Kind=${kind}`)
        }
        if (ref.uid && ref.uid !== uid) {
          throw conflict(
            { group, resource: kind },
            refName,
            `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
          )
        }
      }

      if (o.maxExpirationSeconds > 0 && spec.expirationSeconds > o.maxExpirationSeconds) {
        ctx.warnings.push(
          `requested expiration of ${spec.expirationSeconds} seconds shortened to ${o.maxExpirationSeconds} seconds`,
        )
        spec.expirationSeconds = o.maxExpirationSeconds
      }
      let expirationSeconds = spec.expirationSeconds
      let warnAfterSeconds: number | undefined
      const forApiserver = spec.audiences.every((a) => o.apiAudiences.includes(a))
      if (
        o.extendExpiration &&
        pod &&
        expirationSeconds === warnOnlyBoundTokenExpirationSeconds &&
        forApiserver
      ) {
        warnAfterSeconds = expirationSeconds
        expirationSeconds = maxExtendedExpirationSeconds
      }
      const claims = boundTokenClaims({
        serviceAccount: { namespace, name, uid: saUID },
        ...(pod ? { pod: { name: pod.metadata.name ?? '', uid: pod.metadata.uid ?? '' } } : {}),
        ...(podNode ? { node: podNode } : {}),
        ...(node ? { node } : {}),
        ...(secret ? { secret } : {}),
        audiences: spec.audiences,
        expirationSeconds,
        ...(warnAfterSeconds !== undefined ? { warnAfterSeconds } : {}),
        now,
      })
      const token = await o.generator.generate(claims)
      writeJson(ctx, 201, {
        kind: 'TokenRequest',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: req.metadata,
        spec,
        status: { token, expirationTimestamp: rfc3339(now + spec.expirationSeconds * 1000) },
      })
    },
  }
}

function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/')
  return i < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) }
}

async function getOrUndefined(
  store: { get(ns: string, name: string): Promise<{ object: Readonly<StoredObject> }> },
  namespace: string,
  name: string,
): Promise<Readonly<StoredObject> | undefined> {
  try {
    return (await store.get(namespace, name)).object
  } catch (err) {
    if (err instanceof ApiError && err.code === 404) return undefined
    throw err
  }
}
