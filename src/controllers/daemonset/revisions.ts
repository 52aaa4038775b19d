import type { ControllerRevision, DaemonSet } from '../../api/generated/types/apps-v1.ts'
import { canonicalJson, controllerRevisionHash, controllerRevisionName } from '../history/history.ts'
import { controllerRefTo } from '../owner-refs.ts'
import { controllerRevisionHashLabel } from './rolling-update.ts'

/**
 * What a DaemonSet's ControllerRevisions hold (Kubernetes' daemon/update.go getPatch, snapshot,
 * Match). Unlike the StatefulSet's, they are labelled with `controller-revision-hash` (the label
 * the daemon pods carry), carry the DaemonSet's annotations, and are named after the hash of the
 * template alone; the data is the strategic merge patch that puts the template back, which is
 * what `kubectl rollout undo ds` applies.
 */

export const daemonSetKind = { apiVersion: 'apps/v1', kind: 'DaemonSet' } as const

/** `{spec: {template: {..., $patch: replace}}}`: the revision's data. */
export function revisionData(ds: Readonly<DaemonSet>): Record<string, unknown> {
  return { spec: { template: { ...structuredClone(ds.spec?.template ?? {}), $patch: 'replace' } } }
}

/** The hash of the DaemonSet's template with its collision count (controller.ComputeHash). */
export function templateHash(ds: Readonly<DaemonSet>): string {
  return controllerRevisionHash(ds.spec?.template ?? {}, ds.status?.collisionCount)
}

/** The revision holds the DaemonSet's current template (Match). */
export function matchesRevision(ds: Readonly<DaemonSet>, r: Readonly<ControllerRevision>): boolean {
  return canonicalJson(revisionData(ds)) === canonicalJson(r.data ?? {})
}

/** A new revision of the DaemonSet's current template, numbered `revision` (not yet stored). */
export function daemonSetRevision(ds: Readonly<DaemonSet>, revision: number): ControllerRevision {
  const hash = templateHash(ds)
  const annotations = ds.metadata?.annotations
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: controllerRevisionName(ds.metadata?.name ?? '', hash),
      namespace: ds.metadata?.namespace ?? '',
      labels: { ...ds.spec?.template?.metadata?.labels, [controllerRevisionHashLabel]: hash },
      ...(annotations ? { annotations: { ...annotations } } : {}),
      ownerReferences: [controllerRefTo(ds, daemonSetKind.apiVersion, daemonSetKind.kind)],
    },
    data: revisionData(ds),
    revision,
  }
}
