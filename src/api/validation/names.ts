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
