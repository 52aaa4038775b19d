import { encodeOpenApiV2 } from '../../api/openapi-v2-protobuf.ts'
import { openApiV2Document, openApiV3Document, openApiV3Index } from '../../api/openapi.ts'
import type { Handler } from '../context.ts'
import { notAcceptable, pathNotFound } from '../errors.ts'
import { admits, parseAccept } from '../media.ts'

/**
 * /openapi/v3 (the index of documents with their hashes), /openapi/v3/<key>, and /openapi/v2.
 * A document fetched with its hash (the URL the index gives) never changes, so it may be cached
 * for good; kubectl's HTTP cache then answers repeat runs. An ETag answers conditional requests.
 */
export function openapiHandlers(): Map<string, Handler> {
  const handlers = new Map<string, Handler>()
  handlers.set('/openapi/v3', async (ctx) => {
    const paths: Record<string, { serverRelativeURL: string }> = {}
    for (const [key, d] of Object.entries(openApiV3Index())) {
      paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${d.hash}` }
    }
    ctx.res.statusCode = 200
    ctx.res.setHeader('Content-Type', 'application/json')
    ctx.res.setHeader('Cache-Control', 'no-cache, private')
    ctx.res.end(JSON.stringify({ paths }))
  })
  handlers.set('/openapi/v3/', async (ctx) => {
    const key = ctx.path.slice('/openapi/v3/'.length)
    const doc = openApiV3Document(key)
    if (!doc) throw pathNotFound()
    serve(ctx, doc, ctx.query.get('hash') === doc.hash)
  })
  handlers.set('/openapi/v2', async (ctx) => {
    // kubectl asks for the protobuf form alone (for client-side validation of kinds without a
    // PATCH in v3, such as Binding); other clients for JSON.
    const accept = ctx.req.headers.accept ?? ''
    if (accept.includes(protoOpenApiV2) || accept.includes(protoOpenApiV2Deprecated)) {
      // The media type answered is the parseable one: '@' is not allowed in a subtype.
      serve(ctx, openApiV2Protobuf(), false, protoOpenApiV2)
      return
    }
    if (!parseAccept(accept).some((r) => admits(r, 'application/json'))) {
      throw notAcceptable(['application/json', protoOpenApiV2])
    }
    serve(ctx, openApiV2Document(), false)
  })
  return handlers
}

const protoOpenApiV2 = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf'
const protoOpenApiV2Deprecated = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf'
let v2Protobuf: { body: Buffer; hash: string } | undefined

function openApiV2Protobuf(): { body: Buffer; hash: string } {
  v2Protobuf ??= encodeOpenApiV2(JSON.parse(openApiV2Document().body.toString()) as Record<string, unknown>)
  return v2Protobuf
}

function serve(
  ctx: Parameters<Handler>[0],
  doc: { body: Buffer; hash: string },
  immutable: boolean,
  contentType = 'application/json',
): void {
  const etag = `"${doc.hash}"`
  const res = ctx.res
  res.setHeader('ETag', etag)
  res.setHeader('Cache-Control', immutable ? 'public, immutable, max-age=31536000' : 'no-cache, private')
  res.setHeader('Vary', 'Accept')
  if (ctx.req.headers['if-none-match'] === etag) {
    res.statusCode = 304
    res.end()
    return
  }
  res.statusCode = 200
  res.setHeader('Content-Type', contentType)
  res.setHeader('Content-Length', doc.body.length)
  res.end(doc.body)
}
