import type { KubeObject } from '../api/object.ts'
import { duplicateFields, unknownFields } from '../api/unknown-fields.ts'
import { unsupportedMediaType } from './errors.ts'
import type { ResourceDefinition } from './registry/store.ts'

/** The unknown and duplicate fields of a request body, for fieldValidation. */
export function unknownFieldWarnings(
  def: ResourceDefinition,
  obj: KubeObject,
  raw: Buffer | undefined,
): string[] {
  const dup = raw ? duplicateFields(raw.toString('utf8')) : []
  return [...dup, ...unknownFields({ group: def.group, version: def.version, kind: def.kind }, obj)]
}

/** Protobuf request bodies (application/vnd.kubernetes.protobuf). */
export function decodeProtobufBody(_body: Buffer): KubeObject {
  throw unsupportedMediaType('application/vnd.kubernetes.protobuf', ['application/json', 'application/yaml'])
}
