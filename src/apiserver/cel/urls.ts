import type { Environment } from '@marcbachmann/cel-js'

/**
 * Kubernetes' CEL URL library (k8s.io/apiserver/pkg/cel/library/urls.go): url(), isURL() and
 * the parts of a URL. Like Go's url.ParseRequestURI, a URL must be absolute or an absolute path.
 */
export class KubernetesURL {
  readonly scheme: string
  readonly host: string
  readonly hostname: string
  readonly port: string
  readonly escapedPath: string
  readonly query: string

  constructor(raw: string) {
    let u: URL
    const pathOnly = raw.startsWith('/')
    try {
      if (!pathOnly && !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(raw)) throw new Error('not absolute')
      u = new URL(raw, pathOnly ? 'http://relative.invalid' : undefined)
    } catch {
      throw new Error(
        `URL parse error during conversion from string: parse "${raw}": invalid URI for request`,
      )
    }
    this.scheme = pathOnly ? '' : u.protocol.replace(/:$/, '')
    this.hostname = pathOnly ? '' : u.hostname.replace(/^\[(.*)\]$/, '$1')
    this.port = pathOnly ? '' : u.port
    this.host = pathOnly ? '' : u.host
    this.escapedPath =
      u.pathname === '/' && !/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/]*\//.test(raw) && !pathOnly ? '' : u.pathname
    this.query = u.search.replace(/^\?/, '')
  }

  equals(o: unknown): boolean {
    return o instanceof KubernetesURL && o.toString() === this.toString()
  }

  toString(): string {
    const authority = this.host === '' ? '' : `//${this.host}`
    return `${this.scheme === '' ? '' : `${this.scheme}:`}${authority}${this.escapedPath}${this.query === '' ? '' : `?${this.query}`}`
  }
}

export function registerURLs(env: Environment): void {
  env.registerType('kubernetes.URL', { ctor: KubernetesURL })
  env.registerFunction('url(string): kubernetes.URL', (s: string) => new KubernetesURL(s))
  env.registerFunction('isURL(string): bool', (s: string) => {
    try {
      new KubernetesURL(s)
      return true
    } catch {
      return false
    }
  })
  env.registerFunction('kubernetes.URL.getScheme(): string', (u: KubernetesURL) => u.scheme)
  env.registerFunction('kubernetes.URL.getHost(): string', (u: KubernetesURL) => u.host)
  env.registerFunction('kubernetes.URL.getHostname(): string', (u: KubernetesURL) => u.hostname)
  env.registerFunction('kubernetes.URL.getPort(): string', (u: KubernetesURL) => u.port)
  env.registerFunction('kubernetes.URL.getEscapedPath(): string', (u: KubernetesURL) => u.escapedPath)
  env.registerFunction('kubernetes.URL.getQuery(): map<string, list<string>>', (u: KubernetesURL) => {
    const out: Record<string, string[]> = {}
    for (const [k, v] of new URLSearchParams(u.query)) (out[k] ??= []).push(v)
    return out
  })
  env.registerOperator('kubernetes.URL == kubernetes.URL', (a: KubernetesURL, b: KubernetesURL) =>
    a.equals(b),
  )
  env.registerFunction('string(kubernetes.URL): string', (u: KubernetesURL) => u.toString())
}
