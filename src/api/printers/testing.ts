import assert from 'node:assert/strict'
import { printerFor } from './index.ts'

/** Helpers of the printer tests: a fixed clock, timestamps before it, rows and column titles. */

export const now = Date.parse('2026-11-22T12:00:00Z')

/** The RFC 3339 timestamp `seconds` before `now`. */
export function ago(seconds: number): string {
  return new Date(now - seconds * 1000).toISOString().replace('.000Z', 'Z')
}

/** Object metadata created 5m30s before `now`. */
export function meta(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, namespace: 'default', uid: `uid-${name}`, creationTimestamp: ago(330), ...extra }
}

/** The cells of an object's row, checked to be one per column. */
export function row(group: string, resource: string, o: Record<string, unknown>): unknown[] {
  const p = printerFor(group, resource)
  assert.ok(p, `a printer for ${group}/${resource}`)
  const cells = p.row(o, now)
  assert.equal(cells.length, p.columns.length, 'one cell per column')
  return cells
}

/** The column titles of a printer, the `-o wide` ones in parentheses. */
export function columns(group: string, resource: string): string[] {
  const p = printerFor(group, resource)
  assert.ok(p, `a printer for ${group}/${resource}`)
  return p.columns.map((c) => (c.priority > 0 ? `(${c.name})` : c.name))
}

/** The column types of a printer. */
export function types(group: string, resource: string): string[] {
  return (printerFor(group, resource)?.columns ?? []).map((c) => c.type)
}
