/**
 * Image references as containerd (and Docker's distribution/reference) normalise them:
 * `nginx` is `docker.io/library/nginx:latest`, `registry.k8s.io/pause:3.10` stays itself, and a
 * reference without tag or digest gets `:latest`. The fake runtime names its images this way so that
 * its repoTags read like containerd's; the kubelet never needs to parse one.
 */

export interface ImageReference {
  /** docker.io, registry.k8s.io, localhost:5000 ... */
  domain: string
  /** library/nginx, pause, ... */
  path: string
  tag?: string
  /** sha256:... */
  digest?: string
}

const defaultDomain = 'docker.io'
const componentRe = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/
const tagRe = /^[\w][\w.-]{0,127}$/
const digestRe = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$/

/** Parses and normalises a reference; throws Error('invalid reference format') as distribution does. */
export function parseImageReference(ref: string): ImageReference {
  let rest = ref
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!digestRe.test(digest)) throw new Error('invalid reference format')
  }
  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!tagRe.test(tag)) throw new Error('invalid reference format')
  }
  const slash = rest.indexOf('/')
  let domain = defaultDomain
  let path = rest
  if (slash >= 0) {
    const first = rest.slice(0, slash)
    if (
      first.includes('.') ||
      first.includes(':') ||
      first === 'localhost' ||
      first !== first.toLowerCase()
    ) {
      domain = first
      path = rest.slice(slash + 1)
    }
  }
  if (domain === 'index.docker.io') domain = defaultDomain
  if (domain === defaultDomain && !path.includes('/')) path = `library/${path}`
  if (path === '' || !path.split('/').every((c) => componentRe.test(c))) {
    throw new Error(
      path !== path.toLowerCase()
        ? `invalid reference format: repository name (${path}) must be lowercase`
        : 'invalid reference format',
    )
  }
  return { domain, path, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) }
}

/** The repository name, domain included: docker.io/library/nginx. */
export function repositoryName(r: ImageReference): string {
  return `${r.domain}/${r.path}`
}

/**
 * The reference in full, with `:latest` when it has neither tag nor digest (containerd's
 * ParseDockerRef): docker.io/library/nginx:latest, docker.io/library/nginx@sha256:...
 */
export function normalizeImageReference(ref: string): string {
  const r = parseImageReference(ref)
  const name = repositoryName(r)
  // With both, the digest names the image and the tag is dropped, as ParseDockerRef does.
  if (r.digest !== undefined) return `${name}@${r.digest}`
  return `${name}:${r.tag ?? 'latest'}`
}
