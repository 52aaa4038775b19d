import { readFileSync } from 'node:fs'
import { v2Document, v3Documents } from './generated/openapi/index.ts'

/**
 * The OpenAPI documents the apiserver serves, generated from the Kubernetes data
 * (scripts/generate-api.ts) and kept as JSON files under generated/openapi/ (copied next to the
 * built JavaScript by scripts/copy-assets.ts):
 *
 * - /openapi/v2: the v2 document restricted to the served group-versions;
 * - /openapi/v3: an index of documents, one per key (`api/v1`, `apis/apps/v1`, `apis/apps`,
 *   `api`, `apis`, `version`, `logs`, `.well-known/openid-configuration`, `openid/v1/jwks`),
 *   each served at /openapi/v3/<key>.
 *
 * Nothing is read or parsed at import: a document is read from disk the first time it is asked
 * for and its bytes kept (they are what is served; nobody here needs them parsed). The hash is a
 * SHA-512 of those bytes in upper-case hex, as kube-apiserver computes it, so a URL that names
 * the hash may be cached for good.
 */
export interface OpenApiDocumentFile {
  /** Path under generated/openapi/. */
  readonly file: string
  readonly hash: string
}

export interface OpenApiDocument {
  readonly body: Buffer
  readonly hash: string
}

const cache = new Map<string, Buffer>()

function read(file: string): Buffer {
  let body = cache.get(file)
  if (!body) {
    body = readFileSync(new URL(`./generated/openapi/${file}`, import.meta.url))
    cache.set(file, body)
  }
  return body
}

/** The /openapi/v3 keys with their content hashes. */
export function openApiV3Index(): Readonly<Record<string, { readonly hash: string }>> {
  return v3Documents
}

/** The body of GET /openapi/v3: each key with the URL that names its current hash. */
export function openApiV3IndexDocument(): { paths: Record<string, { serverRelativeURL: string }> } {
  const paths: Record<string, { serverRelativeURL: string }> = {}
  for (const [key, d] of Object.entries(v3Documents)) {
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${d.hash}` }
  }
  return { paths }
}

/** One v3 document by key (`apis/apps/v1`), or undefined for a key that is not served. */
export function openApiV3Document(key: string): OpenApiDocument | undefined {
  const d = Object.hasOwn(v3Documents, key) ? v3Documents[key] : undefined
  return d ? { body: read(d.file), hash: d.hash } : undefined
}

/** The /openapi/v2 document. */
export function openApiV2Document(): OpenApiDocument {
  return { body: read(v2Document.file), hash: v2Document.hash }
}
