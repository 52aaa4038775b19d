import { canonicalQuantity } from '../quantity.ts'

/**
 * A quantity of an object as printed: canonical (kube-apiserver prints resource.Quantity's
 * String(), whatever form the object was written in); `<nil>` when absent, like a nil *Quantity;
 * the text as given when it is not a quantity at all.
 */
export function quantity(v: unknown): string {
  if (v === undefined || v === null) return '<nil>'
  const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v : ''
  return canonicalQuantity(text) ?? text
}

/** A quantity of a resource list: `0` when the list has no entry, like a zero Quantity. */
export function quantityOrZero(v: unknown): string {
  return v === undefined || v === null ? '0' : quantity(v)
}
