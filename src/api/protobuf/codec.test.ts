import assert from 'node:assert/strict'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { decodeProtobuf, encodeProtobuf, goDuration, parseGoDuration, ProtobufError } from './codec.ts'

const testdata = join(import.meta.dirname, 'testdata')

// Bodies exactly as kubectl 1.33 sent them (captured from `kubectl create deployment web
// --image=nginx:1.27 --replicas=0`, `create service clusterip web --tcp=80:8080`, `create
// configmap cfg --from-literal=a=1 --from-literal=b=two`, `create secret generic sec
// --from-literal=password=s3cret`, `create namespace team-a`, `create job once --image=busybox
// -- echo hi`, `create cronjob tick --image=busybox --schedule='*/5 * * * *' -- date`), and the
// JSON object a JSON client would have sent for each (refresh with UPDATE_GOLDEN=1).
for (const file of readdirSync(testdata).filter((f) => f.endsWith('.pb'))) {
  test(`kubectl's protobuf body of ${file.replace('.pb', '')} decodes to the JSON a JSON client sends`, () => {
    const got = decodeProtobuf(readFileSync(join(testdata, file)))
    const golden = join(testdata, file.replace('.pb', '.golden.json'))
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden, JSON.stringify(got, null, 2) + '\n')
    assert.deepEqual(got, JSON.parse(readFileSync(golden, 'utf8')))
  })
}

test('a zero in a pointer field is kept (replicas: 0), zeros of omitempty fields are dropped', () => {
  const d = decodeProtobuf(readFileSync(join(testdata, 'create-deployment.pb')))
  const spec = d.spec as { replicas?: number; paused?: boolean; minReadySeconds?: number }
  assert.equal(spec.replicas, 0)
  assert.equal('paused' in spec, false)
  assert.equal('minReadySeconds' in spec, false)
  assert.equal('creationTimestamp' in (d.metadata ?? {}), false)
})

test('int-or-strings, quantities, times, bytes and raw objects survive a round trip through protobuf', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns', creationTimestamp: '2026-01-02T03:04:05Z', labels: { a: 'b' } },
    spec: {
      containers: [
        {
          name: 'c',
          image: 'nginx',
          ports: [{ containerPort: 80, protocol: 'TCP' }],
          resources: { limits: { cpu: '500m', memory: '1Gi' } },
          readinessProbe: { httpGet: { port: 'http', path: '/' } },
        },
      ],
      terminationGracePeriodSeconds: 0,
    },
  }
  assert.deepEqual(decodeProtobuf(encodeProtobuf(pod)), pod)
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's' },
    data: { k: Buffer.from('v').toString('base64') },
    type: 'Opaque',
  }
  assert.deepEqual(decodeProtobuf(encodeProtobuf(secret)), secret)
  const revision = {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: { name: 'r' },
    data: { spec: { x: 1 } },
    revision: 3,
  }
  assert.deepEqual(decodeProtobuf(encodeProtobuf(revision)), revision)
})

test('bad bodies are refused with a clear error', () => {
  assert.throws(
    () => decodeProtobuf(Buffer.from('{"json":true}')),
    (e) => e instanceof ProtobufError && /k8s\\0 magic/.test(e.message),
  )
  assert.throws(() => decodeProtobuf(Buffer.from([0x6b, 0x38, 0x73, 0x00, 0xff, 0xff, 0xff])), ProtobufError)
  const unknownKind = encodeProtobuf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } })
  const patched = Buffer.from(unknownKind.toString('latin1').replace('ConfigMap', 'ConfigMop'), 'latin1')
  assert.throws(() => decodeProtobuf(patched), /no kind "ConfigMop" is registered for version "v1"/)
})

test('durations print as Go prints them', () => {
  assert.equal(goDuration(0), '0s')
  assert.equal(goDuration(1.5e9), '1.5s')
  assert.equal(goDuration(3.6e12 + 2 * 6e10 + 3e9), '1h2m3s')
  assert.equal(goDuration(150e6), '150ms')
  assert.equal(parseGoDuration('1h2m3s'), 3.6e12 + 2 * 6e10 + 3e9)
})
