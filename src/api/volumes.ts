import { definition, fieldNames } from './schema.ts'

/**
 * The volume source fields of a pod volume (hostPath, emptyDir, configMap, ...): every field of
 * core/v1 Volume but its name, from the schema, so that a source Kubernetes adds is known here.
 */
export const volumeSourceFields: readonly string[] = (() => {
  const volume = definition('io.k8s.api.core.v1.Volume')
  return volume ? fieldNames(volume).filter((f) => f !== 'name') : []
})()
