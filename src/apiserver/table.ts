import type { KubeObject, StoredObject } from '../api/object.ts'
import type { TableConvertor } from './endpoint.ts'
import type { CachedObject } from './registry/watch-cache.ts'

/**
 * Server-side printing: a meta.k8s.io/v1 Table of objects, which kubectl prints as is for `get`
 * (columns with priority 0 by default, all of them with `-o wide`). Each row carries the object
 * as asked by includeObject: its metadata (the default; kubectl needs it for -A and
 * --show-labels), the whole object, or nothing.
 */
export interface TableOptions {
  includeObject: string
  now: number
}

export function renderTable(
  t: TableConvertor,
  items: readonly CachedObject[],
  listMeta: Record<string, unknown>,
  o: TableOptions,
): Record<string, unknown> {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: t.columns,
    rows: items.map((c) => row(t, c.object, o)),
  }
}

/** A watch event's Table: one row; only the first event of a watch carries the columns. */
export function renderTableRow(
  t: TableConvertor,
  c: CachedObject,
  first: boolean,
  o: TableOptions,
): Record<string, unknown> {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: c.object.metadata.resourceVersion ?? '' },
    columnDefinitions: first ? t.columns : null,
    rows: [row(t, c.object, { ...o, now: Date.now() })],
  }
}

function row(t: TableConvertor, obj: Readonly<StoredObject>, o: TableOptions): Record<string, unknown> {
  const r: Record<string, unknown> = { cells: t.row(obj, o.now) }
  if (o.includeObject === 'Object') r.object = obj
  else if (o.includeObject !== 'None') r.object = partialObjectMetadata(obj)
  return r
}

function partialObjectMetadata(obj: Readonly<KubeObject>): Record<string, unknown> {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata ?? {} }
}

/** The default Table of a resource without a printer: Name and Created At, as Kubernetes does. */
export const defaultTable: TableConvertor = {
  columns: [
    { name: 'Name', type: 'string', format: 'name', description: 'The name of the object.', priority: 0 },
    {
      name: 'Created At',
      type: 'date',
      format: '',
      description: 'When the server created the object.',
      priority: 0,
    },
  ],
  row: (obj) => [obj.metadata?.name ?? '', obj.metadata?.creationTimestamp ?? ''],
}
