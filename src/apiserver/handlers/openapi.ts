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
    // kubectl asks for the protobuf form first and falls back on JSON; only JSON is served.
    const accept = parseAccept(ctx.req.headers.accept)
    if (!accept.some((r) => admits(r, 'application/json'))) throw notAcceptable(['application/json'])
    serve(ctx, openApiV2Document(), false)
  })
  return handlers
}

function serve(ctx: Parameters<Handler>[0], doc: { body: Buffer; hash: string }, immutable: boolean): void {
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
  res.setHeader('Content-Type', 'application/json')
  res.setHeader('Content-Length', doc.body.length)
  res.end(doc.body)
}
