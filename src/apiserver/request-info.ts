/**
 * What a request asks for, read off its method, path and query the way kube-apiserver's
 * RequestInfoFactory does, so that authorization, admission and audit see the same attributes
 * a Kubernetes user would write in an RBAC rule.
 *
 *   /api/v1/namespaces/{ns}/{resource}[/{name}[/{subresource}[/...]]]
 *   /apis/{group}/{version}/namespaces/{ns}/{resource}[/{name}[/{subresource}]]
 *   /api/v1/{resource}[/{name}[/{subresource}]]            (cluster scope, or every namespace)
 *   /api/v1/namespaces/{name}[/status|/finalize]           (namespaces themselves)
 *   /api/v1/watch/...                                      (deprecated watch paths)
 *
 * Anything else (/version, /healthz, /api, /apis/{group}/{version}, /openapi/...) is a
 * non-resource request whose verb is the lower-cased HTTP method.
 */
export type ResourceRequestInfo = {
  readonly isResourceRequest: true
  readonly path: string
  /** get, list, watch, create, update, patch, delete, deletecollection. */
  readonly verb: string
  readonly apiPrefix: 'api' | 'apis'
  readonly apiGroup: string
  readonly apiVersion: string
  readonly namespace: string
  readonly resource: string
  readonly subresource: string
  readonly name: string
  /** The path after the namespace, starting at the resource; anything past the subresource too. */
  readonly parts: readonly string[]
}

export type NonResourceRequestInfo = {
  readonly isResourceRequest: false
  readonly path: string
  readonly verb: string
}

export type RequestInfo = ResourceRequestInfo | NonResourceRequestInfo

const methodVerbs: Record<string, string> = {
  POST: 'create',
  GET: 'get',
  HEAD: 'get',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
}

/** Subresources of a namespace, as opposed to resources inside it. */
const namespaceSubresources = new Set(['status', 'finalize'])

export function requestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const nonResource = (): NonResourceRequestInfo => ({
    isResourceRequest: false,
    path,
    verb: method.toLowerCase(),
  })
  let parts = splitPath(path)
  if (parts === undefined) return nonResource()
  const prefix = parts[0]
  if (prefix !== 'api' && prefix !== 'apis') return nonResource()
  parts = parts.slice(1)
  let apiGroup = ''
  if (prefix === 'apis') {
    if (parts.length < 3) return nonResource() // /apis, /apis/{group}, /apis/{group}/{version}
    apiGroup = parts[0] ?? ''
    parts = parts.slice(1)
  } else if (parts.length < 2) {
    return nonResource() // /api, /api/v1
  }
  const apiVersion = parts[0] ?? ''
  parts = parts.slice(1)

  let verb = methodVerbs[method] ?? method.toLowerCase()
  if (parts[0] === 'watch') {
    // Deprecated /watch/ paths: the verb is watch whatever the method says.
    verb = 'watch'
    parts = parts.slice(1)
  }
  let namespace = ''
  if (parts[0] === 'namespaces' && parts.length > 1) {
    namespace = parts[1] ?? ''
    if (parts.length > 2 && !namespaceSubresources.has(parts[2] ?? '')) parts = parts.slice(2)
  }
  const resource = parts[0] ?? ''
  const name = parts[1] ?? ''
  const subresource = parts[2] ?? ''
  if (resource === '') return nonResource()

  if (name === '') {
    if (verb === 'get') verb = isTrue(query.get('watch')) ? 'watch' : 'list'
    else if (verb === 'delete') verb = 'deletecollection'
  } else if (verb === 'get' && isTrue(query.get('watch')) && subresource === '') {
    verb = 'watch'
  }
  return {
    isResourceRequest: true,
    path,
    verb,
    apiPrefix: prefix,
    apiGroup,
    apiVersion,
    namespace,
    resource,
    subresource,
    name,
    parts,
  }
}

/** The path's segments, or undefined for a path that cannot name a resource (empty segments, dot segments). */
function splitPath(path: string): string[] | undefined {
  let start = 0
  let end = path.length
  while (start < end && path.charCodeAt(start) === 47) start++
  while (end > start && path.charCodeAt(end - 1) === 47) end--
  if (start === end) return undefined
  const parts = path.slice(start, end).split('/')
  const encoded = path.includes('%')
  for (let i = 0; i < parts.length; i++) {
    let p = parts[i] ?? ''
    if (encoded && p.includes('%')) {
      try {
        p = decodeURIComponent(p)
      } catch {
        return undefined
      }
      parts[i] = p
    }
    if (p === '' || p === '.' || p === '..') return undefined
  }
  return parts
}

function isTrue(v: string | null): boolean {
  return v === 'true' || v === '1'
}
