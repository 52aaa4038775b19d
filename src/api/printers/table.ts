import type { KubeObject } from '../object.ts'

/** A column of a server-side Table (meta.k8s.io/v1 TableColumnDefinition). */
export interface TableColumn {
  readonly name: string
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date'
  readonly format: string
  readonly description: string
  /** 0: shown by `kubectl get`; 1 and above: only with `-o wide`. */
  readonly priority: number
}

/** What `kubectl get` prints for a resource: its columns, and one row's cells for an object. */
export interface TableConvertor {
  readonly columns: readonly TableColumn[]
  /** The cells of one row, in column order; `now` (ms since the epoch) is for ages. */
  row(obj: Readonly<KubeObject>, now: number): unknown[]
}
