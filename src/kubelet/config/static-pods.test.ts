import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { Pod } from '../../api/generated/types/core-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import {
  configHashAnnotation,
  configSeenAnnotation,
  configSourceAnnotation,
  isStaticPod,
  readManifests,
  StaticPodSource,
  staticPodFromManifest,
} from './static-pods.ts'

const yamlPod = `apiVersion: v1
kind: Pod
metadata:
  name: etcd
  namespace: kube-system
  labels: { component: etcd }
spec:
  containers:
  - name: etcd
    image: registry.k8s.io/etcd:3.5.21-0
    command: [etcd]
`
const jsonPod = JSON.stringify({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web' },
  spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] },
})

const parseCases: { name: string; text: string; want: RegExp | ((pod: Pod) => void) }[] = [
  {
    name: 'a YAML pod is named <name>-<node>, keeps its namespace, runs on the node and is Pending',
    text: yamlPod,
    want: (pod) => {
      assert.equal(pod.metadata?.name, 'etcd-node-a')
      assert.equal(pod.metadata?.namespace, 'kube-system')
      assert.equal(pod.spec?.nodeName, 'node-a')
      assert.equal(pod.status?.phase, 'Pending')
      assert.match(pod.metadata?.uid ?? '', /^[0-9a-f]{32}$/)
      assert.equal(pod.metadata?.annotations?.[configHashAnnotation], pod.metadata?.uid)
      assert.equal(pod.metadata?.annotations?.[configSourceAnnotation], 'file')
      assert.ok(isStaticPod(pod))
      assert.deepEqual(pod.spec?.tolerations, [{ operator: 'Exists', effect: 'NoExecute' }])
    },
  },
  {
    name: 'a JSON pod without a namespace goes to default, with the API defaults applied',
    text: jsonPod,
    want: (pod) => {
      assert.equal(pod.metadata?.namespace, 'default')
      assert.equal(pod.spec?.restartPolicy, 'Always')
      assert.equal(pod.spec?.dnsPolicy, 'ClusterFirst')
      assert.equal(pod.spec?.containers[0]?.terminationMessagePath, '/dev/termination-log')
    },
  },
  {
    name: 'a uid set in the file is kept',
    text: yamlPod.replace('  name: etcd\n', '  name: etcd\n  uid: fixed-uid\n'),
    want: (pod) => assert.equal(pod.metadata?.uid, 'fixed-uid'),
  },
  {
    name: 'another kind is refused',
    text: 'apiVersion: v1\nkind: Service\nmetadata: {name: x}\n',
    want: /invalid pod: want apiVersion v1 and kind Pod, got v1 Service/,
  },
  {
    name: 'two documents are refused',
    text: `${yamlPod}---\n${yamlPod}`,
    want: /exactly one object, found 2/,
  },
  {
    name: 'a pod without a name is refused',
    text: 'apiVersion: v1\nkind: Pod\nspec: {containers: []}\n',
    want: /metadata.name: Required value/,
  },
  {
    name: 'a pod that does not validate is refused with the field errors',
    text: 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a}]}\n',
    want: /invalid pod: .*spec\.containers\[0\]\.image: Required value/,
  },
  {
    name: 'text that is not YAML is refused',
    text: 'apiVersion: v1\nkind: Pod\n  : [\n',
    want: /\/m\/p\.yaml: /,
  },
]

for (const c of parseCases) {
  test(`static pod manifest: ${c.name}`, () => {
    const parse = () => staticPodFromManifest(c.text, { path: '/m/p.yaml', nodeName: 'node-a' })
    if (c.want instanceof RegExp) assert.throws(parse, c.want)
    else c.want(parse())
  })
}

test('static pod uid: the same file on the same node gives the same uid; another node, file or content another', () => {
  const uid = (text: string, path: string, nodeName: string) =>
    staticPodFromManifest(text, { path, nodeName }).metadata?.uid
  const base = uid(yamlPod, '/m/etcd.yaml', 'node-a')
  assert.equal(uid(yamlPod, '/m/etcd.yaml', 'node-a'), base)
  assert.notEqual(uid(yamlPod, '/m/etcd.yaml', 'node-b'), base)
  assert.notEqual(uid(yamlPod, '/m/other.yaml', 'node-a'), base)
  assert.notEqual(uid(yamlPod.replace('3.5.21-0', '3.5.22-0'), '/m/etcd.yaml', 'node-a'), base)
})

let dir: string
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'k8ts-manifests-'))
})
after(() => rmSync(dir, { recursive: true, force: true }))

test('readManifests: dotfiles and folders are skipped, a bad file is left out, a missing path has no pods', async () => {
  const d = join(dir, 'read')
  mkdirSync(d)
  writeFileSync(join(d, 'etcd.yaml'), yamlPod)
  writeFileSync(join(d, 'web.json'), jsonPod)
  writeFileSync(join(d, '.etcd.yaml.swp'), yamlPod)
  writeFileSync(join(d, 'broken.yaml'), 'kind: Pod\n')
  mkdirSync(join(d, 'sub'))
  const errors: string[] = []
  const log = { error: (o: { path: string }) => errors.push(o.path), warn: () => {} }
  const pods = await readManifests(d, 'node-a', log as never)
  assert.deepEqual(
    pods.map((p) => p.metadata?.name),
    ['etcd-node-a', 'web-node-a'],
  )
  assert.deepEqual(errors, [join(d, 'broken.yaml')])
  assert.deepEqual(await readManifests(join(dir, 'nope'), 'node-a'), [])
  assert.deepEqual(
    (await readManifests(join(d, 'web.json'), 'node-a')).map((p) => p.metadata?.name),
    ['web-node-a'],
  )
})

test('StaticPodSource: add on start, remove and add when a file changes, remove when it goes, every 20 s', async () => {
  const d = join(dir, 'source')
  mkdirSync(d)
  writeFileSync(join(d, 'etcd.yaml'), yamlPod)
  const clock = new FakeClock()
  const events: string[] = []
  const record = (op: string) => (pod: Pod) =>
    events.push(`${op} ${pod.metadata?.name} ${pod.metadata?.uid?.slice(0, 6)}`)
  const source = new StaticPodSource({
    manifestPath: d,
    nodeName: 'node-a',
    clock,
    watch: false,
    handlers: { add: record('add'), update: record('update'), remove: record('remove') },
  })
  await source.start()
  const first = source.pods()[0]
  assert.ok(first)
  const seen = first.metadata?.annotations?.[configSeenAnnotation]
  assert.equal(seen, new Date(clock.now()).toISOString())
  assert.deepEqual(events, [`add etcd-node-a ${first.metadata?.uid?.slice(0, 6)}`])

  // Nothing changed: a re-read is quiet, and config.seen stays.
  clock.advance(20_000)
  await source.scan()
  assert.equal(events.length, 1)
  assert.equal(source.pods()[0]?.metadata?.annotations?.[configSeenAnnotation], seen)

  writeFileSync(join(d, 'etcd.yaml'), yamlPod.replace('3.5.21-0', '3.5.22-0'))
  clock.advance(20_000)
  await source.scan()
  const second = source.pods()[0]
  assert.notEqual(second?.metadata?.uid, first.metadata?.uid)
  assert.deepEqual(events.slice(1), [
    `remove etcd-node-a ${first.metadata?.uid?.slice(0, 6)}`,
    `add etcd-node-a ${second?.metadata?.uid?.slice(0, 6)}`,
  ])

  unlinkSync(join(d, 'etcd.yaml'))
  clock.advance(20_000)
  await source.scan()
  assert.deepEqual(events.slice(3), [`remove etcd-node-a ${second?.metadata?.uid?.slice(0, 6)}`])
  source.stop()
  assert.equal(clock.pendingTimers(), 0)
})

test('StaticPodSource: a pod whose file sets its uid is updated in place', async () => {
  const d = join(dir, 'fixed')
  mkdirSync(d)
  const withUid = yamlPod.replace('  name: etcd\n', '  name: etcd\n  uid: fixed-uid\n')
  writeFileSync(join(d, 'etcd.yaml'), withUid)
  const clock = new FakeClock()
  const events: string[] = []
  const source = new StaticPodSource({
    manifestPath: d,
    nodeName: 'node-a',
    clock,
    watch: false,
    handlers: {
      add: (p) => events.push(`add ${p.spec?.containers[0]?.image}`),
      update: (p) => events.push(`update ${p.spec?.containers[0]?.image}`),
      remove: (p) => events.push(`remove ${p.spec?.containers[0]?.image}`),
    },
  })
  await source.start()
  writeFileSync(join(d, 'etcd.yaml'), withUid.replace('3.5.21-0', '3.5.22-0'))
  await source.scan()
  source.stop()
  assert.deepEqual(events, ['add registry.k8s.io/etcd:3.5.21-0', 'update registry.k8s.io/etcd:3.5.22-0'])
})
