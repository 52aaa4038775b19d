/**
 * The tag of a container image reference, as kube-apiserver reads it to default imagePullPolicy
 * (k8s.io/kubernetes/pkg/util/parsers.ParseImageName over the distribution reference grammar):
 * "latest" when the reference has neither tag nor digest, "" when it has only a digest or does
 * not parse (upper case in the repository, a bad digest, ...).
 */

const alphaNumeric = '[a-z0-9]+'
const separator = '(?:[._]|__|[-]+)'
const pathComponent = `${alphaNumeric}(?:${separator}${alphaNumeric})*`
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const host = `(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])`
const domain = `${host}(?::[0-9]+)?`
const tag = '[\\w][\\w.-]{0,127}'
const digest = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}'
const reference = new RegExp(
  `^((?:${domain}/)?${pathComponent}(?:/${pathComponent})*)(?::(${tag}))?(?:@(${digest}))?$`,
)
/** The digest algorithms go-digest knows, with the length of their lower-case hex. */
const digestHexLength: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 }

/** Docker Hub's domain unless the first path element looks like a host (docker's splitDockerDomain). */
function normalized(image: string): string | undefined {
  const slash = image.indexOf('/')
  const first = slash < 0 ? '' : image.slice(0, slash)
  const hasDomain =
    slash >= 0 && (/[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first)
  const remainder = hasDomain ? image.slice(slash + 1) : image
  const colon = remainder.indexOf(':')
  const repository = colon < 0 ? remainder : remainder.slice(0, colon)
  if (repository.toLowerCase() !== repository) return undefined
  return hasDomain ? image : `docker.io/${remainder.includes('/') ? '' : 'library/'}${remainder}`
}

export function imageTag(image: string): string {
  if (/^[a-f0-9]{64}$/.test(image)) return ''
  const name = normalized(image)
  const m = name === undefined ? null : reference.exec(name)
  if (!m) return ''
  const [, repository = '', t = '', d = ''] = m
  if (repository.length > 255) return ''
  if (d !== '') {
    const [algorithm = '', hex = ''] = d.split(':')
    if (digestHexLength[algorithm] !== hex.length || !/^[a-f0-9]+$/.test(hex)) return ''
  }
  if (t === '' && d === '') return 'latest'
  return t
}

/** Always for :latest (or no tag at all), IfNotPresent otherwise (SetDefaults_Container). */
export function defaultPullPolicy(image: unknown): string {
  return imageTag(typeof image === 'string' ? image : '') === 'latest' ? 'Always' : 'IfNotPresent'
}
