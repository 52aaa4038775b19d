import { readFileSync } from 'node:fs'
import { v2Document, v3Documents } from './generated/openapi/index.ts'

/**
 * The OpenAPI documents the apiserver serves (generated from the Kubernetes data): read from
 * disk the first time they are asked for and kept, since parsing megabytes at start-up would
 * slow every start.
 */
const cache = new Map<string, Buffer>()

function read(file: string): Buffer {
  let b = cache.get(file)
  if (!b) {
    b = readFileSync(new URL(`./generated/openapi/${file}`, import.meta.url))
    cache.set(file, b)
  }
  return b
}

/** The /openapi/v3 keys (`api/v1`, `apis/apps/v1`, ...) with their content hashes. */
export function openApiV3Index(): Readonly<Record<string, { hash: string }>> {
  return v3Documents
}

/** One v3 document, or undefined for an unknown key. */
export function openApiV3Document(key: string): { body: Buffer; hash: string } | undefined {
  const d = v3Documents[key]
  return d ? { body: read(d.file), hash: d.hash } : undefined
}

export function openApiV2Document(): { body: Buffer; hash: string } {
  return { body: read(v2Document.file), hash: v2Document.hash }
}
