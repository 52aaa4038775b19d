import type { KubeObject } from '../api/object.ts'
import { decodeProtobuf, ProtobufError } from '../api/protobuf/codec.ts'
import { duplicateFields, maxBodyDepth, memberCount, unknownFields } from '../api/unknown-fields.ts'
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

/**
 * The members of a decoded body (see memberCount); a 400 when it nests deeper than maxBodyDepth,
 * which the walks after decoding could not follow.
 */
export function shallowEnough(v: unknown): number {
  const members = memberCount(v)
  if (members < 0) {
    throw badRequest(`error decoding body: nested deeper than the limit of ${maxBodyDepth} levels`)
  }
  return members
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
