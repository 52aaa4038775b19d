const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * A Go duration as Kubernetes flags and config files take them (40s, 5m, 1m30s, 500ms, 1.5h), in
 * milliseconds; undefined when it is not one.
 */
export function parseGoDuration(v: string): number | undefined {
  if (v === '') return undefined
  let total = 0
  let rest = v
  while (rest !== '') {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest)
    if (!m) return undefined
    total += Number(m[1]) * (units[m[2] ?? 's'] ?? 1000)
    rest = rest.slice(m[0].length)
  }
  return total
}
