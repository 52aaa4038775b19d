import { formatQuantity, parseQuantity, roundUp } from '../quantity.ts'

/**
 * Each quantity of a resource list rounded up to the milli and written canonically, in place.
 * Values that are not quantities are left for validation to report.
 */
export function defaultResourceList(list: unknown): void {
  if (list === null || typeof list !== 'object' || Array.isArray(list)) return
  const l = list as Record<string, unknown>
  for (const [k, v] of Object.entries(l)) {
    const q = parseQuantity(v)
    if (q) l[k] = formatQuantity(roundUp(q, -3))
  }
}
