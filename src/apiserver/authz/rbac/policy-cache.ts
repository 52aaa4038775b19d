import type {
  ClusterRole,
  ClusterRoleBinding,
  PolicyRule,
  Role,
  RoleBinding,
  RoleRef,
  Subject,
} from '../../../api/generated/types/rbac-v1.ts'
import type { UserInfo } from '../../authn/authenticator.ts'
import type { Decision } from '../authorizer.ts'

/**
 * The RBAC objects of the cluster as the authorizer needs them: roles by name, bindings indexed
 * by the users and groups they name, and, per user and namespace, the rules that apply, resolved
 * once and kept until an RBAC object changes.
 *
 *   Role, ClusterRole ──────────▶ rules by namespace/name
 *   RoleBinding, ClusterRoleBinding ─▶ bindings by subject (users, groups; a ServiceAccount is
 *                                      indexed under its user name)
 *   resolve(user, namespace) ───▶ ClusterRoleBindings, then the namespace's RoleBindings, each
 *                                 binding's role rules in order (memoized)
 *
 * The order is kube-apiserver's: cluster bindings first, then the namespace's bindings. Within
 * each, bindings are taken by name (upstream takes its informer's order, which is unspecified).
 */

/** One rule that applies to a user, with the reason RBAC gives when it allows a request. */
export interface AppliedRule {
  readonly rule: Readonly<PolicyRule>
  /** Made once: `RBAC: allowed by ClusterRoleBinding "x" of ClusterRole "y" to User "z"`. */
  readonly allow: Decision & { readonly decision: 'allow'; readonly reason: string }
}

/** The rules that apply to one user in one namespace, and what could not be resolved. */
export interface ResolvedRules {
  readonly rules: readonly AppliedRule[]
  /** Resolution errors in the order met (`clusterrole.rbac.authorization.k8s.io "x" not found`). */
  readonly errors: readonly string[]
  /** RBAC's answer when no rule allows: no opinion, with `RBAC: <errors>` as reason when there were errors. */
  readonly noOpinion: Decision & { readonly decision: 'no-opinion' }
  /**
   * The rules that may match each resource and subresource asked about, in order: filled by the
   * authorizer as requests come, so that a request scans a rule or two, not all of them.
   */
  readonly byResource: Map<string, Map<string, readonly AppliedRule[]>>
}

interface IndexedBinding {
  readonly namespace: string
  readonly name: string
  readonly roleRef: Readonly<RoleRef>
  readonly subjects: readonly Readonly<Subject>[]
}

/** Bindings by the user and group names their subjects match. */
class SubjectIndex {
  readonly byUser = new Map<string, Set<IndexedBinding>>()
  readonly byGroup = new Map<string, Set<IndexedBinding>>()
  readonly byName = new Map<string, IndexedBinding>()

  set(b: IndexedBinding | undefined, name: string): void {
    const old = this.byName.get(name)
    if (old) {
      this.byName.delete(name)
      this.#each(old, (map, key) => {
        const set = map.get(key)
        set?.delete(old)
        if (set?.size === 0) map.delete(key)
      })
    }
    if (!b) return
    this.byName.set(name, b)
    this.#each(b, (map, key) => {
      let set = map.get(key)
      if (!set) map.set(key, (set = new Set()))
      set.add(b)
    })
  }

  get size(): number {
    return this.byName.size
  }

  /** The bindings one of whose subjects may apply to the user, by name. */
  candidates(user: UserInfo): IndexedBinding[] {
    const found = new Set<IndexedBinding>()
    for (const b of this.byUser.get(user.name) ?? []) found.add(b)
    for (const g of user.groups) for (const b of this.byGroup.get(g) ?? []) found.add(b)
    return [...found].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))
  }

  #each(b: IndexedBinding, f: (map: Map<string, Set<IndexedBinding>>, key: string) => void): void {
    for (const s of b.subjects) {
      const user = subjectUserName(s, b.namespace)
      if (user !== undefined) f(this.byUser, user)
      else if (s.kind === 'Group') f(this.byGroup, s.name)
    }
  }
}

/** The user name a User or ServiceAccount subject matches (undefined for groups and others). */
function subjectUserName(s: Readonly<Subject>, bindingNamespace: string): string | undefined {
  switch (s.kind) {
    case 'User':
      return s.name
    case 'ServiceAccount': {
      // A ServiceAccount without a namespace is the binding's own namespace's.
      const ns = s.namespace || bindingNamespace
      return ns === '' ? undefined : serviceAccountUserName(ns, s.name)
    }
    default:
      return undefined
  }
}

export function serviceAccountUserName(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`
}

/** Whether a binding subject applies to the user (rbac's appliesToUser). */
export function subjectApplies(s: Readonly<Subject>, user: UserInfo, bindingNamespace: string): boolean {
  switch (s.kind) {
    case 'User':
      return user.name === s.name
    case 'Group':
      return user.groups.includes(s.name)
    case 'ServiceAccount': {
      const ns = s.namespace || bindingNamespace
      return ns !== '' && user.name === serviceAccountUserName(ns, s.name)
    }
    default:
      return false
  }
}

/** `User "alice"`, `ServiceAccount "name/namespace"` (sic: name first), as RBAC's reasons say it. */
function describeSubject(s: Readonly<Subject>, bindingNamespace: string): string {
  if (s.kind === 'ServiceAccount') {
    return `${s.kind} ${JSON.stringify(`${s.name}/${s.namespace || bindingNamespace}`)}`
  }
  return `${s.kind} ${JSON.stringify(s.name)}`
}

function describeBinding(b: IndexedBinding, s: Readonly<Subject>): string {
  const kind = b.namespace === '' ? 'ClusterRoleBinding' : 'RoleBinding'
  const name = b.namespace === '' ? b.name : `${b.name}/${b.namespace}`
  return `${kind} ${JSON.stringify(name)} of ${b.roleRef.kind} ${JSON.stringify(b.roleRef.name)} to ${describeSubject(s, b.namespace)}`
}

/** Errors of several lookups as one message, as Kubernetes' aggregate error prints them. */
export function aggregateMessage(errors: readonly string[]): string {
  const distinct = [...new Set(errors)]
  if (distinct.length === 0) return ''
  if (distinct.length === 1) return distinct[0] as string
  return `[${distinct.join(', ')}]`
}

/** A role the resolver could not find, or a roleRef of a kind it does not know. */
export class RoleRefError extends Error {
  override readonly name = 'RoleRefError'
  readonly code: 'NotFound' | 'UnsupportedKind'
  /** The resource as a registry names it (roles, clusterroles), for a NotFound. */
  readonly resource: string
  readonly roleName: string

  constructor(code: 'NotFound' | 'UnsupportedKind', resource: string, roleName: string, message: string) {
    super(message)
    this.code = code
    this.resource = resource
    this.roleName = roleName
  }
}

const emptyResolved: ResolvedRules = {
  rules: [],
  errors: [],
  noOpinion: { decision: 'no-opinion' },
  byResource: new Map(),
}

/** How many distinct users keep their resolved rules before the memo starts over. */
const memoLimit = 4096

/** One user's resolved rules, by namespace, as of one generation of the cache. */
interface UserMemo {
  readonly generation: number
  readonly byNamespace: Map<string, ResolvedRules>
}

export class PolicyCache {
  readonly #clusterRoles = new Map<string, readonly Readonly<PolicyRule>[]>()
  readonly #roles = new Map<string, readonly Readonly<PolicyRule>[]>()
  readonly #clusterBindings = new SubjectIndex()
  readonly #roleBindings = new Map<string, SubjectIndex>()
  /** Resolved rules by user (name and groups). */
  readonly #byUser = new Map<string, UserMemo>()
  /**
   * The same memo by user object, when the authenticator hands out one object per user
   * (certificate users are one object per connection): no key is built for them.
   */
  readonly #byUserObject = new WeakMap<UserInfo, UserMemo>()
  #generation = 0

  /** Grows by one with every change; a result computed at an older generation may be stale. */
  get generation(): number {
    return this.#generation
  }

  // --- feeding ---------------------------------------------------------------------------------

  setClusterRole(name: string, role: Readonly<ClusterRole> | undefined): void {
    if (role) this.#clusterRoles.set(name, role.rules ?? [])
    else this.#clusterRoles.delete(name)
    this.#changed()
  }

  setRole(namespace: string, name: string, role: Readonly<Role> | undefined): void {
    const key = `${namespace}/${name}`
    if (role) this.#roles.set(key, role.rules ?? [])
    else this.#roles.delete(key)
    this.#changed()
  }

  setClusterRoleBinding(name: string, binding: Readonly<ClusterRoleBinding> | undefined): void {
    this.#clusterBindings.set(binding ? indexed('', name, binding) : undefined, name)
    this.#changed()
  }

  setRoleBinding(namespace: string, name: string, binding: Readonly<RoleBinding> | undefined): void {
    let index = this.#roleBindings.get(namespace)
    if (!index) {
      if (!binding) return
      this.#roleBindings.set(namespace, (index = new SubjectIndex()))
    }
    index.set(binding ? indexed(namespace, name, binding) : undefined, name)
    if (index.size === 0) this.#roleBindings.delete(namespace)
    this.#changed()
  }

  /** Forgets everything (before a full reload). */
  clear(): void {
    this.#clusterRoles.clear()
    this.#roles.clear()
    this.#clusterBindings.byName.clear()
    this.#clusterBindings.byUser.clear()
    this.#clusterBindings.byGroup.clear()
    this.#roleBindings.clear()
    this.#changed()
  }

  #changed(): void {
    this.#generation++
    this.#byUser.clear()
  }

  // --- reading ---------------------------------------------------------------------------------

  /**
   * The rules of a binding's roleRef (rbac's GetRoleReferenceRules): a Role in the binding's
   * namespace or a ClusterRole. Throws a RoleRefError when the role is missing or of an unknown kind.
   */
  roleRefRules(ref: Readonly<RoleRef>, bindingNamespace: string): readonly Readonly<PolicyRule>[] {
    switch (ref.kind) {
      case 'Role': {
        const rules = this.#roles.get(`${bindingNamespace}/${ref.name}`)
        if (!rules) {
          throw new RoleRefError(
            'NotFound',
            'roles',
            ref.name,
            `role.rbac.authorization.k8s.io ${JSON.stringify(ref.name)} not found`,
          )
        }
        return rules
      }
      case 'ClusterRole': {
        const rules = this.#clusterRoles.get(ref.name)
        if (!rules) {
          throw new RoleRefError(
            'NotFound',
            'clusterroles',
            ref.name,
            `clusterrole.rbac.authorization.k8s.io ${JSON.stringify(ref.name)} not found`,
          )
        }
        return rules
      }
      default:
        throw new RoleRefError(
          'UnsupportedKind',
          '',
          ref.name,
          `unsupported role reference kind: ${JSON.stringify(ref.kind)}`,
        )
    }
  }

  /**
   * The rules that apply to the user in the namespace ('' for cluster-wide and non-resource
   * requests): every ClusterRoleBinding's, then the namespace's RoleBindings'.
   */
  resolve(user: UserInfo, namespace: string): ResolvedRules {
    let memo = this.#byUserObject.get(user)
    if (memo === undefined || memo.generation !== this.#generation) {
      const key = user.groups.length === 0 ? user.name : `${user.name}\0${user.groups.join('\0')}`
      memo = this.#byUser.get(key)
      if (memo === undefined) {
        if (this.#byUser.size >= memoLimit) this.#byUser.clear()
        memo = { generation: this.#generation, byNamespace: new Map() }
        this.#byUser.set(key, memo)
      }
      this.#byUserObject.set(user, memo)
    }
    let resolved = memo.byNamespace.get(namespace)
    if (resolved === undefined) {
      resolved = this.#resolveNow(user, namespace)
      memo.byNamespace.set(namespace, resolved)
    }
    return resolved
  }

  #resolveNow(user: UserInfo, namespace: string): ResolvedRules {
    const rules: AppliedRule[] = []
    const errors: string[] = []
    const visit = (index: SubjectIndex | undefined, ns: string) => {
      if (!index) return
      for (const b of index.candidates(user)) {
        const subject = b.subjects.find((s) => subjectApplies(s, user, ns))
        if (!subject) continue
        let roleRules: readonly Readonly<PolicyRule>[]
        try {
          roleRules = this.roleRefRules(b.roleRef, ns)
        } catch (err) {
          if (!(err instanceof RoleRefError)) throw err
          errors.push(err.message)
          continue
        }
        const allow = {
          decision: 'allow',
          reason: `RBAC: allowed by ${describeBinding(b, subject)}`,
        } as const
        for (const rule of roleRules) rules.push({ rule, allow })
      }
    }
    visit(this.#clusterBindings, '')
    if (namespace !== '') visit(this.#roleBindings.get(namespace), namespace)
    if (rules.length === 0 && errors.length === 0) return emptyResolved
    return {
      rules,
      errors,
      noOpinion:
        errors.length > 0
          ? { decision: 'no-opinion', reason: `RBAC: ${aggregateMessage(errors)}` }
          : emptyResolved.noOpinion,
      byResource: new Map(),
    }
  }
}

function indexed(
  namespace: string,
  name: string,
  b: Readonly<RoleBinding> | Readonly<ClusterRoleBinding>,
): IndexedBinding {
  return { namespace, name, roleRef: b.roleRef, subjects: b.subjects ?? [] }
}
