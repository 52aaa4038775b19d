import type { TableConvertor } from './table.ts'

export type { TableColumn, TableConvertor } from './table.ts'

/**
 * The Table printer of a built-in resource (by group and plural name), as kube-apiserver's
 * printers print it; undefined for resources that use the default Name / Created At table.
 */
export function printerFor(_group: string, _resource: string): TableConvertor | undefined {
  return undefined
}
