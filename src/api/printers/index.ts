import { clusterPrinters } from './cluster.ts'
import type { TableConvertor } from './table.ts'
import { workloadPrinters } from './workloads.ts'

export type { TableColumn, TableConvertor } from './table.ts'

const printers: Record<string, TableConvertor> = { ...workloadPrinters, ...clusterPrinters }

/**
 * The Table printer of a built-in resource (by group and plural name), as kube-apiserver's
 * printers print it; undefined for resources that use the default Name / Created At table.
 */
export function printerFor(group: string, resource: string): TableConvertor | undefined {
  return printers[`${group}/${resource}`]
}
