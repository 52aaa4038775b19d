import { invalid, type FieldError } from '../../../api/field-errors.ts'
import type { StoredObject } from '../../../api/object.ts'
import type { ResourceStrategy } from '../strategy.ts'
import { specStatusStrategy } from './generic.ts'

/**
 * Jobs select their own pods by the Job's UID unless the user chose `manualSelector`: the
 * selector and the template's labels are generated on create, as Kubernetes' job strategy does.
 */
export const jobStrategy: ResourceStrategy = {
  ...specStatusStrategy,
  prepareForCreate(obj, ctx) {
    void specStatusStrategy.prepareForCreate?.(obj, ctx)
    generateSelector(obj)
  },
  validate: (obj) => selectorErrors(obj),
}

interface JobShape {
  manualSelector?: boolean
  selector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] }
  template?: { metadata?: { labels?: Record<string, string> } }
}

function specOf(obj: StoredObject): JobShape {
  obj.spec ??= {}
  return obj.spec as JobShape
}

/** The labels a Job's pods carry, and the one its selector matches. */
function generatedLabels(obj: StoredObject): Record<string, string> {
  const uid = obj.metadata.uid ?? ''
  const name = obj.metadata.name ?? ''
  return {
    'batch.kubernetes.io/controller-uid': uid,
    'batch.kubernetes.io/job-name': name,
    'controller-uid': uid,
    'job-name': name,
  }
}

function generateSelector(obj: StoredObject): void {
  const spec = specOf(obj)
  if (spec.manualSelector === true) return
  const template = (spec.template ??= {})
  const meta = (template.metadata ??= {})
  meta.labels = { ...(meta.labels ?? {}), ...generatedLabels(obj) }
  // A selector the user wrote is kept, to be refused by validation unless it is the generated one.
  spec.selector ??= { matchLabels: { 'batch.kubernetes.io/controller-uid': obj.metadata.uid ?? '' } }
}

function selectorErrors(obj: StoredObject): FieldError[] {
  const spec = obj.spec as JobShape | undefined
  if (!spec || spec.manualSelector === true || !spec.selector) return []
  const want = obj.metadata.uid ?? ''
  const labels = spec.selector.matchLabels ?? {}
  const generated =
    (spec.selector.matchExpressions ?? []).length === 0 &&
    Object.entries(labels).every(
      ([k, v]) => (k === 'batch.kubernetes.io/controller-uid' || k === 'controller-uid') && v === want,
    )
  return generated ? [] : [invalid('spec.selector', spec.selector, '`selector` not auto-generated')]
}
