import type { KubeObject } from '../api/object.ts'
import { decodeProtobuf, ProtobufError } from '../api/protobuf/codec.ts'
import { duplicateFields, unknownFields } from '../api/unknown-fields.ts'
import { badRequest } from './errors.ts'
import type { JsonBody } from './handlers/resources.ts'
import type { ResourceDefinition } from './registry/store.ts'

/** The unknown and duplicate fields of a request body, for fieldValidation. */
export function unknownFieldWarnings(
  def: ResourceDefinition,
  obj: KubeObject,
  json: JsonBody | undefined,
): string[] {
  const dup = json ? duplicateFields(json.text, json.members) : []
  return [...dup, ...unknownFields({ group: def.group, version: def.version, kind: def.kind }, obj)]
}

/** Protobuf request bodies (application/vnd.kubernetes.protobuf), as the JSON a JSON client sends. */
export function decodeProtobufBody(body: Buffer): KubeObject {
  try {
    return decodeProtobuf(body)
  } catch (err) {
    if (err instanceof ProtobufError) throw badRequest(err.message)
    throw err
  }
}
