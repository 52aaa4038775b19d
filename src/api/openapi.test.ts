import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import { openApiV2Document, openApiV3Document, openApiV3Index, openApiV3IndexDocument } from './openapi.ts'
import { builtinResources } from './resources.ts'
import { encodeOpenApiV2 } from './openapi-v2-protobuf.ts'
import protobuf from 'protobufjs'

type Json = Record<string, unknown>

const patchTypes = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
]

function sha512(b: Buffer): string {
  return createHash('sha512').update(b).digest('hex').toUpperCase()
}

const parsed = new Map<string, Json>()

function v3(key: string): Json {
  let doc = parsed.get(key)
  if (!doc) {
    const d = openApiV3Document(key)
    assert.ok(d, `no /openapi/v3/${key}`)
    assert.equal(d.hash, sha512(d.body), `the hash of ${key} is the SHA-512 of its bytes`)
    doc = JSON.parse(d.body.toString('utf8')) as Json
    parsed.set(key, doc)
  }
  return doc
}

function operations(doc: Json): { path: string; method: string; op: Json }[] {
  const out: { path: string; method: string; op: Json }[] = []
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const [method, op] of Object.entries(item))
      if (method !== 'parameters') out.push({ path, method, op: op as Json })
  }
  return out
}

function refs(v: unknown, into: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) refs(x, into)
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string') into.push(x)
      else refs(x, into)
    }
  }
  return into
}

test('the /openapi/v3 index names every served document with a URL that carries its hash', () => {
  const index = openApiV3IndexDocument()
  const keys = Object.keys(index.paths)
  for (const k of [
    'api',
    'api/v1',
    'apis',
    'apis/apps',
    'apis/apps/v1',
    'apis/autoscaling/v1',
    'apis/autoscaling/v2',
    'apis/resource.k8s.io/v1',
    'version',
    'logs',
    '.well-known/openid-configuration',
    'openid/v1/jwks',
  ]) {
    assert.ok(keys.includes(k), `${k} is missing`)
  }
  assert.ok(!keys.some((k) => /alpha|beta/.test(k)), 'alpha and beta versions are not served')
  const hash = openApiV3Index()['apis/apps/v1']?.hash
  assert.match(hash ?? '', /^[0-9A-F]{128}$/)
  assert.deepEqual(index.paths['apis/apps/v1'], {
    serverRelativeURL: `/openapi/v3/apis/apps/v1?hash=${hash}`,
  })
  assert.equal(openApiV3Document('apis/apps/v1beta1'), undefined)
  assert.equal(openApiV3Document('__proto__'), undefined)
})

test('every v3 document is OpenAPI 3 whose references all resolve within it', () => {
  for (const key of Object.keys(openApiV3Index())) {
    const doc = v3(key)
    assert.equal(doc.openapi, '3.0.0', key)
    const schemas = ((doc.components as Json | undefined)?.schemas ?? {}) as Json
    for (const ref of refs(doc)) {
      assert.ok(ref.startsWith('#/components/schemas/'), `${key}: ${ref} is not a component reference`)
      assert.ok(ref.slice('#/components/schemas/'.length) in schemas, `${key}: ${ref} does not resolve`)
    }
    for (const { path, method, op } of operations(doc)) {
      for (const p of (op.parameters ?? []) as Json[]) {
        assert.ok(
          p.schema !== undefined && p.type === undefined,
          `${key} ${method} ${path}: parameter ${String(p.name)} is v2-shaped`,
        )
      }
    }
  }
})

test('every PATCH operation declares fieldValidation and accepts the four patch types (kubectl requires it)', () => {
  let count = 0
  for (const key of Object.keys(openApiV3Index())) {
    for (const { path, method, op } of operations(v3(key))) {
      if (method !== 'patch') continue
      count++
      const params = (op.parameters ?? []) as Json[]
      assert.ok(
        params.some((p) => p.name === 'fieldValidation' && p.in === 'query'),
        `${path} lacks fieldValidation`,
      )
      const content = ((op.requestBody as Json | undefined)?.content ?? {}) as Json
      for (const t of patchTypes) assert.ok(t in content, `${path} does not accept ${t}`)
      assert.ok(op['x-kubernetes-action'] !== undefined, `${path} has no x-kubernetes-action`)
      assert.ok(
        op['x-kubernetes-group-version-kind'] !== undefined,
        `${path} has no x-kubernetes-group-version-kind`,
      )
    }
  }
  assert.ok(count >= 100, `only ${count} PATCH operations`)
})

test('each served kind has its schema in its group-version document, for kubectl explain and apply', () => {
  for (const r of builtinResources) {
    const doc = v3(r.group === '' ? `api/${r.version}` : `apis/${r.group}/${r.version}`)
    const schemas = Object.values((doc.components as Json).schemas as Record<string, Json>)
    const found = schemas.some((s) =>
      ((s['x-kubernetes-group-version-kind'] ?? []) as Json[]).some(
        (g) => g.group === r.group && g.version === r.version && g.kind === r.kind,
      ),
    )
    assert.ok(found, `${r.group}/${r.version} ${r.kind} has no schema`)
  }
})

test('a reference with a description or patch strategy beside it is wrapped in allOf', () => {
  const schemas = (v3('apis/apps/v1').components as Json).schemas as Record<string, Json>
  const props = schemas['io.k8s.api.apps.v1.DeploymentSpec']?.properties as Record<string, Json>
  assert.deepEqual(props.template?.allOf, [
    { $ref: '#/components/schemas/io.k8s.api.core.v1.PodTemplateSpec' },
  ])
  assert.equal(typeof props.template?.description, 'string')
  assert.equal(props.template?.$ref, undefined)
  assert.deepEqual(props.strategy?.['x-kubernetes-patch-strategy'], 'retainKeys')
  const deployment = schemas['io.k8s.api.apps.v1.Deployment']
  assert.equal(typeof deployment?.description, 'string', 'descriptions are kept for kubectl explain')
})

test('operations are converted: parameters with schemas, request bodies and responses with content', () => {
  const doc = v3('apis/apps/v1')
  const item = (doc.paths as Record<string, Json>)['/apis/apps/v1/namespaces/{namespace}/deployments'] ?? {}
  const post = item.post as Json
  assert.deepEqual(Object.keys((post.requestBody as Json).content as Json), ['*/*'])
  assert.equal((post.requestBody as Json).required, true)
  const created = ((post.responses as Json)['201'] as Json).content as Record<string, Json>
  assert.deepEqual(created['application/json'], {
    schema: { $ref: '#/components/schemas/io.k8s.api.apps.v1.Deployment' },
  })
  assert.equal(post['x-kubernetes-action'], 'post')
  assert.deepEqual(post['x-kubernetes-group-version-kind'], {
    group: 'apps',
    kind: 'Deployment',
    version: 'v1',
  })
  const shared = (item.parameters ?? []) as Json[]
  assert.ok(shared.some((p) => p.name === 'namespace' && p.in === 'path' && p.required === true))
})

test('the v2 document keeps only the served group-versions and what they reference', () => {
  const d = openApiV2Document()
  assert.equal(d.hash, sha512(d.body))
  const doc = JSON.parse(d.body.toString('utf8')) as Json
  assert.equal(doc.swagger, '2.0')
  const paths = Object.keys(doc.paths as Json)
  assert.ok(paths.includes('/api/v1/namespaces/{namespace}/pods'))
  assert.ok(paths.includes('/version/'))
  assert.ok(!paths.some((p) => /\/v\d+(alpha|beta)\d*\//.test(p)), 'no alpha or beta paths')
  const definitions = doc.definitions as Json
  assert.ok(
    !Object.keys(definitions).some((n) => /\.v\d+(alpha|beta)\d*\./.test(n)),
    'no alpha or beta definitions',
  )
  const parameters = doc.parameters as Json
  for (const ref of refs(doc)) {
    const [, section, name = ''] = /^#\/(definitions|parameters)\/(.+)$/.exec(ref) ?? []
    assert.ok(section === 'definitions' ? name in definitions : name in parameters, `${ref} does not resolve`)
  }
})

test('the v2 document in protobuf (gnostic) carries every definition with its extensions', () => {
  const json = JSON.parse(openApiV2Document().body.toString()) as { definitions: Record<string, Json> }
  const { body } = encodeOpenApiV2(json)
  const root = protobuf.Root.fromJSON({
    nested: {
      Any: { fields: { yaml: { type: 'string', id: 2 } } },
      NamedAny: { fields: { name: { type: 'string', id: 1 }, value: { type: 'Any', id: 2 } } },
      TypeItem: { fields: { value: { rule: 'repeated', type: 'string', id: 1 } } },
      Schema: {
        fields: {
          ref: { type: 'string', id: 1 },
          type: { type: 'TypeItem', id: 22 },
          properties: { type: 'Properties', id: 25 },
          vendorExtension: { rule: 'repeated', type: 'NamedAny', id: 31 },
        },
      },
      NamedSchema: { fields: { name: { type: 'string', id: 1 }, value: { type: 'Schema', id: 2 } } },
      Properties: { fields: { additionalProperties: { rule: 'repeated', type: 'NamedSchema', id: 1 } } },
      Document: {
        fields: { swagger: { type: 'string', id: 1 }, definitions: { type: 'Properties', id: 9 } },
      },
    },
  })
  type Decoded = {
    swagger: string
    definitions: {
      additionalProperties: {
        name: string
        value: {
          type?: { value: string[] }
          properties?: { additionalProperties: { name: string }[] }
          vendorExtension: { name: string; value: { yaml: string } }[]
        }
      }[]
    }
  }
  const doc = root.lookupType('Document').toObject(root.lookupType('Document').decode(body), {
    arrays: true,
  }) as Decoded
  assert.equal(doc.swagger, '2.0')
  const defs = doc.definitions.additionalProperties
  assert.equal(defs.length, Object.keys(json.definitions).length)
  const binding = defs.find((d) => d.name === 'io.k8s.api.core.v1.Binding')
  assert.ok(binding)
  assert.deepEqual(binding.value.type?.value, ['object'])
  assert.deepEqual(binding.value.properties?.additionalProperties.map((p) => p.name).sort(), [
    'apiVersion',
    'kind',
    'metadata',
    'target',
  ])
  const gvk = binding.value.vendorExtension.find((e) => e.name === 'x-kubernetes-group-version-kind')
  assert.deepEqual(JSON.parse(gvk?.value.yaml ?? 'null'), [{ group: '', kind: 'Binding', version: 'v1' }])
})
