import assert from 'node:assert/strict'
import { after, before, describe, mock, test } from 'node:test'
import { startTestApiServer, type TestApiServer } from '../support/cluster.ts'

/** A request with a body of the given type: the answer's code and its JSON. */
async function send(c: TestApiServer, method: string, path: string, body: string, type = 'application/json') {
  const r = await c.request(method, path, {
    body,
    headers: { 'Content-Type': type, Accept: 'application/json' },
  })
  return { code: r.code, obj: JSON.parse(r.body.toString()) as Record<string, unknown> }
}

/**
 * PUT without a resourceVersion is an unconditional update: when another write lands between the
 * read and the write, the apiserver tries again with the body as the client sent it, not with what
 * the lost attempt made of it.
 */
describe('unconditional updates', () => {
  let c: TestApiServer
  before(async () => {
    c = await startTestApiServer()
  })
  after(async () => {
    await c.stop()
  })

  const path = '/api/v1/namespaces/default/configmaps'
  const put = (name: string, body: string, type: string) => send(c, 'PUT', `${path}/${name}`, body, type)

  for (const [type, encode] of [
    ['application/json', (n: number) => JSON.stringify(configMap(n))],
    [
      'application/yaml',
      (n: number) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  n: "${n}"\n`,
    ],
  ] as const) {
    test(`racing PUTs (${type}) each land with their own body`, async () => {
      await c.request('DELETE', `${path}/cm`)
      const created = await c.request('POST', path, {
        body: JSON.stringify(configMap(-1)),
        headers: { 'Content-Type': 'application/json' },
      })
      assert.equal(created.code, 201, created.body.toString())
      // Sent together, they read the same revision: all but one lose the first attempt.
      const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => put('cm', encode(i), type)))
      const revisions = new Set<string>()
      replies.forEach((r, i) => {
        assert.equal(r.code, 200, JSON.stringify(r.obj))
        assert.deepEqual(r.obj.data, { n: String(i) })
        revisions.add((r.obj.metadata as { resourceVersion: string }).resourceVersion)
      })
      assert.equal(revisions.size, 20, 'each update is a write of its own')
    })
  }
})

function configMap(n: number) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { n: String(n) } }
}

/**
 * A create with generateName whose generated name is taken runs again with a new name, as
 * kube-apiserver does (RetryGenerateName), up to eight times before the 409 stands.
 */
describe('generateName', () => {
  let c: TestApiServer
  before(async () => {
    c = await startTestApiServer()
  })
  after(async () => {
    await c.stop()
  })

  const path = '/api/v1/namespaces/default/configmaps'
  const create = (body: unknown) => send(c, 'POST', path, JSON.stringify(body))
  // Math.random() at 0 makes the generated suffix 'bbbbb', the alphabet's first letter five times.
  const taken = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'gen-bbbbb' } }
  const generated = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' } }

  test('a taken generated name is generated again', async () => {
    assert.equal((await create(taken)).code, 201)
    const random = Math.random.bind(Math)
    let calls = 0
    mock.method(Math, 'random', () => (++calls <= 5 ? 0 : random()))
    try {
      const r = await create(generated)
      assert.equal(r.code, 201, JSON.stringify(r.obj))
      const name = (r.obj.metadata as { name: string }).name
      assert.match(name, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/)
      assert.notEqual(name, 'gen-bbbbb')
      assert.ok(calls >= 10, 'a second name was generated')
    } finally {
      mock.restoreAll()
    }
  })

  test('after eight taken names the create is refused with 409 AlreadyExists', async () => {
    let calls = 0
    mock.method(Math, 'random', () => {
      calls++
      return 0
    })
    try {
      const r = await create(generated)
      assert.equal(r.code, 409, JSON.stringify(r.obj))
      assert.equal(r.obj.reason, 'AlreadyExists')
      assert.equal(r.obj.message, 'configmaps "gen-bbbbb" already exists')
      assert.ok(calls >= 40, `eight names were generated (${calls} draws)`)
    } finally {
      mock.restoreAll()
    }
  })
})

describe('pods/binding', () => {
  let c: TestApiServer
  before(async () => {
    c = await startTestApiServer()
  })
  after(async () => {
    await c.stop()
  })

  const pods = '/api/v1/namespaces/default/pods'
  const post = (path: string, body: unknown) => send(c, 'POST', path, JSON.stringify(body))
  const binding = (pod: string, node: string) => ({
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name: pod, annotations: { 'example.com/placed-by': 'test' } },
    target: { kind: 'Node', name: node },
  })
  const podNamed = (name: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
  })

  test('binds once: nodeName, PodScheduled and the annotations land; a second binding is a conflict', async () => {
    const created = await post(pods, podNamed('b'))
    assert.equal(created.code, 201, JSON.stringify(created.obj))
    const bound = await post(`${pods}/b/binding`, binding('b', 'node-1'))
    assert.equal(bound.code, 201, JSON.stringify(bound.obj))
    const pod = JSON.parse((await c.request('GET', `${pods}/b`)).body.toString()) as {
      metadata: { annotations?: Record<string, string>; resourceVersion: string; managedFields?: unknown[] }
      spec: { nodeName?: string }
      status: { conditions?: { type: string; status: string }[] }
    }
    assert.equal(pod.spec.nodeName, 'node-1')
    assert.deepEqual(pod.metadata.annotations, { 'example.com/placed-by': 'test' })
    assert.equal(pod.status.conditions?.find((x) => x.type === 'PodScheduled')?.status, 'True')
    // As upstream, which binds through the storage: no managedFields entry for the binding.
    const managers = (created.obj.metadata as { managedFields?: unknown[] }).managedFields
    assert.deepEqual(pod.metadata.managedFields, managers)
    assert.notEqual(
      pod.metadata.resourceVersion,
      (created.obj.metadata as { resourceVersion: string }).resourceVersion,
    )

    const again = await post(`${pods}/b/binding`, binding('b', 'node-2'))
    assert.equal(again.code, 409)
    assert.match(String(again.obj.message), /pod b is already assigned to node "node-1"/)
    const missing = await post(`${pods}/nope/binding`, binding('nope', 'node-1'))
    assert.equal(missing.code, 404)
  })

  test('a dry-run binding binds nothing; an unknown dryRun value is 400', async () => {
    const created = await post(pods, podNamed('dry'))
    assert.equal(created.code, 201, JSON.stringify(created.obj))
    assert.equal((await post(`${pods}/dry/binding?dryRun=All`, binding('dry', 'node-1'))).code, 201)
    const pod = JSON.parse((await c.request('GET', `${pods}/dry`)).body.toString()) as {
      metadata: { resourceVersion: string }
      spec: { nodeName?: string }
    }
    assert.equal(pod.spec.nodeName, undefined)
    assert.equal(
      pod.metadata.resourceVersion,
      (created.obj.metadata as { resourceVersion: string }).resourceVersion,
    )
    const bad = await post(`${pods}/dry/binding?dryRun=Some`, binding('dry', 'node-1'))
    assert.equal(bad.code, 400)
    assert.equal(bad.obj.message, 'Invalid dryRun value "Some": supported values: "All"')
  })
})

/**
 * JSON, merge and strategic merge patches change a copy of the current object of their own: each
 * attempt after a conflict patches the newer object, and a patch that fails halfway leaves
 * nothing behind, in the store or in the watch cache that GET reads.
 */
describe('patches', () => {
  let c: TestApiServer
  before(async () => {
    c = await startTestApiServer()
  })
  after(async () => {
    await c.stop()
  })

  const path = '/api/v1/namespaces/default/configmaps'
  const types = {
    json: 'application/json-patch+json',
    merge: 'application/merge-patch+json',
    strategic: 'application/strategic-merge-patch+json',
  }
  const patch = async (type: keyof typeof types, body: unknown) => {
    const r = await send(c, 'PATCH', `${path}/p`, JSON.stringify(body), types[type])
    return { code: r.code, obj: r.obj as { metadata: { labels?: object } } }
  }
  const labelPatch = (type: keyof typeof types, i: number) =>
    type === 'json'
      ? [{ op: 'add', path: `/metadata/labels/l${i}`, value: String(i) }]
      : { metadata: { labels: { [`l${i}`]: String(i) } } }

  test('racing patches of each type all land, each on the object as the one before left it', async () => {
    const created = await c.request('POST', path, {
      body: JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'p', labels: { first: 'x' } },
      }),
      headers: { 'Content-Type': 'application/json' },
    })
    assert.equal(created.code, 201, created.body.toString())
    const kinds = ['json', 'merge', 'strategic'] as const
    const replies = await Promise.all(
      Array.from({ length: 21 }, (_, i) => {
        const type = kinds[i % 3] ?? 'json'
        return patch(type, labelPatch(type, i))
      }),
    )
    for (const r of replies) assert.equal(r.code, 200, JSON.stringify(r.obj))
    const got = JSON.parse((await c.request('GET', `${path}/p`)).body.toString()) as {
      metadata: { labels: Record<string, string> }
    }
    assert.deepEqual(
      got.metadata.labels,
      Object.fromEntries([['first', 'x'], ...Array.from({ length: 21 }, (_, i) => [`l${i}`, String(i)])]),
    )
  })

  test('a JSON patch that fails halfway changes nothing', async () => {
    const before = (await c.request('GET', `${path}/p`)).body.toString()
    const failed = await patch('json', [
      { op: 'add', path: '/metadata/labels/half', value: 'way' },
      { op: 'add', path: '/data', value: { k: 'v' } },
      { op: 'test', path: '/metadata/name', value: 'not-p' },
    ])
    assert.equal(failed.code, 422, JSON.stringify(failed.obj))
    assert.equal((await c.request('GET', `${path}/p`)).body.toString(), before)
    // Nor does a merge patch refused by validation.
    const invalid = await patch('merge', { metadata: { labels: { half: 'way', 'bad label': 'x' } } })
    assert.equal(invalid.code, 422, JSON.stringify(invalid.obj))
    assert.equal((await c.request('GET', `${path}/p`)).body.toString(), before)
  })
})

/**
 * The store keeps an object without its resourceVersion and the watch cache serves it with one,
 * from one encoding: what a GET answers from the cache is what the write answered, and what the
 * store holds reads back the same after a restart, also for an object holding the text the
 * encoding looks for.
 */
describe('stored and served JSON', () => {
  test('writes, the cache and the store after a restart agree', async () => {
    let c = await startTestApiServer()
    const dataDir = c.dataDir
    const path = '/api/v1/namespaces/default/configmaps'
    const send = async (method: string, url: string, body: unknown, type = 'application/json') => {
      const r = await c.request(method, url, {
        body: JSON.stringify(body),
        headers: { 'Content-Type': type, Accept: 'application/json' },
      })
      assert.ok(r.code < 300, r.body.toString())
      return r.body.toString()
    }
    const get = async (name: string) => (await c.request('GET', `${path}/${name}`)).body.toString()
    /** The answer as sent: the revision a number, the lookalike annotation as it was. */
    const checked = (json: string) => {
      const o = JSON.parse(json) as { metadata: { resourceVersion: string; annotations: object } }
      assert.match(o.metadata.resourceVersion, /^\d+$/)
      assert.deepEqual(o.metadata.annotations, { resourceVersion: '\u0000rv' })
      return json
    }
    const written: Record<string, string> = {}
    try {
      for (const [name, data] of [
        ['plain', { a: '1' }],
        // The placeholder's very text, as a key and value of its own.
        ['lookalike', { resourceVersion: '\u0000rv' }],
      ] as const) {
        written[name] = await send('POST', path, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name, annotations: { resourceVersion: '\u0000rv' } },
          data,
        })
        assert.equal(await get(name), checked(written[name]))
        written[name] = await send(
          'PATCH',
          `${path}/${name}`,
          { data: { b: '2' } },
          'application/merge-patch+json',
        )
        assert.equal(await get(name), checked(written[name]))
        const obj = JSON.parse(written[name]) as { metadata: { resourceVersion: string } }
        assert.match(obj.metadata.resourceVersion, /^\d+$/)
        written[name] = await send('PUT', `${path}/${name}`, { ...obj, data: { c: '3' } })
        assert.equal(await get(name), checked(written[name]))
      }
      await c.stop({ keepData: true })
      c = await startTestApiServer({ dataDir })
      for (const name of Object.keys(written)) assert.equal(checked(await get(name)), written[name])
    } finally {
      await c.stop()
    }
  })
})
