/**
 * The syntax checks of Kubernetes names, label keys and values, with the messages Kubernetes
 * gives (kubectl users see them in Invalid errors). Each returns the list of problems, empty when
 * the value is fine.
 */

const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?'
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`
const qualifiedNameFmt = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'
const labelValueFmt = `(${qualifiedNameFmt})?`
const dns1035LabelFmt = '[a-z]([-a-z0-9]*[a-z0-9])?'

const dns1123Label = new RegExp(`^${dns1123LabelFmt}$`)
const dns1123Subdomain = new RegExp(`^${dns1123SubdomainFmt}$`)
const qualifiedName = new RegExp(`^${qualifiedNameFmt}$`)
const labelValue = new RegExp(`^${labelValueFmt}$`)
const dns1035Label = new RegExp(`^${dns1035LabelFmt}$`)

export const dns1123LabelMaxLength = 63
export const dns1123SubdomainMaxLength = 253
export const qualifiedNameMaxLength = 63
export const labelValueMaxLength = 63

function maxLenError(n: number): string {
  return `must be no more than ${n} characters`
}

function regexError(msg: string, fmt: string, examples: string[]): string {
  let s = msg + ' (e.g. '
  examples.forEach((e, i) => {
    if (i > 0) s += ' or '
    s += `'${e}', `
  })
  return s + `regex used for validation is '${fmt}')`
}

/** A DNS-1123 label: lower-case alphanumerics and '-', at most 63 characters (namespaces, services). */
export function isDNS1123Label(value: string): string[] {
  const errs: string[] = []
  if (value.length > dns1123LabelMaxLength) errs.push(maxLenError(dns1123LabelMaxLength))
  if (!dns1123Label.test(value)) {
    if (dns1123Subdomain.test(value)) errs.push('must not contain dots')
    else
      errs.push(
        regexError(
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
          dns1123LabelFmt,
          ['my-name', '123-abc'],
        ),
      )
  }
  return errs
}

/** A DNS-1123 subdomain: DNS-1123 labels joined by dots, at most 253 characters (most object names). */
export function isDNS1123Subdomain(value: string): string[] {
  const errs: string[] = []
  if (value.length > dns1123SubdomainMaxLength) errs.push(maxLenError(dns1123SubdomainMaxLength))
  if (!dns1123Subdomain.test(value)) {
    errs.push(
      regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        dns1123SubdomainFmt,
        ['example.com'],
      ),
    )
  }
  return errs
}

/** A DNS-1035 label: like DNS-1123 but starting with a letter (Service names). */
export function isDNS1035Label(value: string): string[] {
  const errs: string[] = []
  if (value.length > dns1123LabelMaxLength) errs.push(maxLenError(dns1123LabelMaxLength))
  if (!dns1035Label.test(value)) {
    errs.push(
      regexError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        dns1035LabelFmt,
        ['my-name', 'abc-123'],
      ),
    )
  }
  return errs
}

/** A qualified name (label and annotation keys): an optional DNS subdomain prefix and '/', then a name. */
export function isQualifiedName(value: string): string[] {
  const errs: string[] = []
  const parts = value.split('/')
  let name: string
  switch (parts.length) {
    case 1:
      name = parts[0] ?? ''
      break
    case 2: {
      const prefix = parts[0] ?? ''
      name = parts[1] ?? ''
      if (prefix.length === 0) errs.push('prefix part must be non-empty')
      else for (const m of isDNS1123Subdomain(prefix)) errs.push(`prefix part ${m}`)
      break
    }
    default:
      return [
        regexError(
          "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
          qualifiedNameFmt,
          ['MyName', 'my.name', '123-abc'],
        ) + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
      ]
  }
  if (name.length === 0) errs.push('name part must be non-empty')
  else if (name.length > qualifiedNameMaxLength) errs.push(`name part ${maxLenError(qualifiedNameMaxLength)}`)
  if (name.length > 0 && !qualifiedName.test(name)) {
    errs.push(
      'name part ' +
        regexError(
          "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
          qualifiedNameFmt,
          ['MyName', 'my.name', '123-abc'],
        ),
    )
  }
  return errs
}

/** A label value: empty, or a name of at most 63 characters. */
export function isValidLabelValue(value: string): string[] {
  const errs: string[] = []
  if (value.length > labelValueMaxLength) errs.push(maxLenError(labelValueMaxLength))
  if (!labelValue.test(value)) {
    errs.push(
      regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        labelValueFmt,
        ['MyValue', 'my_value', '12345'],
      ),
    )
  }
  return errs
}

/** A name that is one segment of a URL path (RBAC objects, disruption budgets). */
export function isPathSegmentName(value: string): string[] {
  if (value === '.' || value === '..') return [`may not be '${value}'`]
  const errs: string[] = []
  for (const c of ['/', '%']) if (value.includes(c)) errs.push(`may not contain '${c}'`)
  return errs
}

const portNameChars = /^[-a-z0-9]+$/
const portNameLetter = /[a-z]/

/** A named port (IANA_SVC_NAME): at most 15 lower-case alphanumerics and '-', with a letter. */
export function isValidPortName(port: string): string[] {
  const errs: string[] = []
  if (port.length > 15) errs.push('must be no more than 15 characters')
  if (!portNameChars.test(port))
    errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)')
  if (!portNameLetter.test(port)) errs.push('must contain at least one letter (a-z)')
  if (port.includes('--')) errs.push('must not contain consecutive hyphens')
  if (port.startsWith('-') || port.endsWith('-')) errs.push('must not begin or end with a hyphen')
  return errs
}

export function isValidPortNum(port: number): string[] {
  return Number.isInteger(port) && port >= 1 && port <= 65535
    ? []
    : ['must be between 1 and 65535, inclusive']
}

const configMapKey = /^[-._a-zA-Z0-9]+$/

/** A key of a ConfigMap or Secret: alphanumerics, '-', '_' or '.', at most 253 characters. */
export function isConfigMapKey(value: string): string[] {
  const errs: string[] = []
  if (value.length > dns1123SubdomainMaxLength) errs.push(maxLenError(dns1123SubdomainMaxLength))
  if (!configMapKey.test(value)) {
    errs.push(
      regexError(
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
        '[-._a-zA-Z0-9]+',
        ['key.name', 'KEY_NAME', 'key-name'],
      ),
    )
  }
  if (value === '.') errs.push("must not be '.'")
  else if (value === '..') errs.push("must not be '..'")
  else if (value.startsWith('..')) errs.push("must not start with '..'")
  return errs
}

/** An environment variable name: printable ASCII other than '=' (relaxed validation, GA in 1.34). */
export function isEnvVarName(value: string): string[] {
  if (value.length === 0 || !/^[ -<>-~]+$/.test(value)) {
    return [
      "a valid environment variable name must consist only of printable ASCII characters other than '='",
    ]
  }
  return []
}

/** An IPv4 or IPv6 address in canonical-enough form. */
export function isValidIP(value: string): string[] {
  return isIPv4(value) || isIPv6(value)
    ? []
    : ['must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)']
}

export function isIPv4(value: string): boolean {
  const parts = value.split('.')
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)
}

export function isIPv6(value: string): boolean {
  if (!value.includes(':') || !/^[0-9a-fA-F:.]+$/.test(value)) return false
  const halves = value.split('::')
  if (halves.length > 2) return false
  const groups = (h: string): string[] | undefined => {
    if (h === '') return []
    const g = h.split(':')
    const last = g[g.length - 1] ?? ''
    if (last.includes('.')) {
      if (!isIPv4(last)) return undefined
      g.splice(g.length - 1, 1, '0', '0')
    }
    return g.every((x) => /^[0-9a-fA-F]{1,4}$/.test(x)) ? g : undefined
  }
  const a = groups(halves[0] ?? '')
  const b = halves.length === 2 ? groups(halves[1] ?? '') : []
  if (!a || !b) return false
  return halves.length === 2 ? a.length + b.length < 8 : a.length === 8
}

/** A CIDR: an address, '/', and a prefix length that fits it. */
export function isValidCIDR(value: string): string[] {
  const i = value.indexOf('/')
  const msg = ['must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)']
  if (i < 0) return msg
  const ip = value.slice(0, i)
  const bits = value.slice(i + 1)
  if (!/^(0|[1-9][0-9]{0,2})$/.test(bits)) return msg
  if (isIPv4(ip)) return Number(bits) <= 32 ? [] : msg
  if (isIPv6(ip)) return Number(bits) <= 128 ? [] : msg
  return msg
}
