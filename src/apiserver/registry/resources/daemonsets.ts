import { deepEqual, type StoredObject } from '../../../api/object.ts'
import type { ResourceStrategy } from '../strategy.ts'
import { specStatusStrategy } from './generic.ts'

/**
 * DaemonSets count their template's versions (Kubernetes' daemonset strategy): the template
 * generation starts at 1 and goes up by one with every change of spec.template. apps/v1 has no
 * field for it, so, as upstream's conversion does, it lives in the annotation
 * deprecated.daemonset.template.generation, and the DaemonSet controller labels its pods with it
 * (pod-template-generation).
 *
 * Upstream reads the annotation of the incoming object, so an update that leaves it out and keeps
 * the template stores "0" (and a later template change would then reuse generation 1). Here an
 * update without the annotation, or with one that is not an integer, keeps the stored value.
 */
export const templateGenerationAnnotation = 'deprecated.daemonset.template.generation'

export const daemonSetStrategy: ResourceStrategy = {
  ...specStatusStrategy,
  prepareForCreate(obj, ctx) {
    void specStatusStrategy.prepareForCreate?.(obj, ctx)
    const sent = generationOf(obj)
    setGeneration(obj, sent !== undefined && sent >= 1 ? sent : 1)
  },
  prepareForUpdate(next, prev, ctx) {
    void specStatusStrategy.prepareForUpdate?.(next, prev, ctx)
    const before = generationOf(prev) ?? 0
    const templateChanged = !deepEqual(templateOf(next), templateOf(prev))
    setGeneration(next, templateChanged ? before + 1 : (generationOf(next) ?? before))
  },
}

function templateOf(obj: Readonly<StoredObject>): unknown {
  const spec = obj.spec as { template?: unknown } | undefined
  return spec?.template
}

function generationOf(obj: Readonly<StoredObject>): number | undefined {
  const v = obj.metadata.annotations?.[templateGenerationAnnotation]
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined
}

function setGeneration(obj: StoredObject, generation: number): void {
  obj.metadata.annotations = {
    ...obj.metadata.annotations,
    [templateGenerationAnnotation]: String(generation),
  }
}
