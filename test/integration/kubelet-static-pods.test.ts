import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Node, Pod } from '../../src/api/generated/types/core-v1.ts'
import { realClock } from '../../src/base/clock.ts'
import { builtin, loadKubeconfig, ResourceClient, RestClient } from '../../src/client/index.ts'
import { KubeletPodManager, startKubelet, type RunningKubelet } from '../../src/kubelet/index.ts'
import { MirrorPodClient, syncMirrorPods } from '../../src/kubelet/config/mirror-pods.ts'
import { configMirrorAnnotation, staticPodFromManifest } from '../../src/kubelet/config/static-pods.ts'
import { FakeRuntime } from '../../src/kubelet/runtime/fake/fake-runtime.ts'
import { startTestApiServer, nodeClientConfig, testLog, type TestApiServer } from '../support/cluster.ts'
import { until } from '../support/until.ts'

/** Mirror pods of static pods in a real apiserver: created, recreated when the manifest changes, deleted when it goes. */
describe('kubelet mirror pods against an apiserver', () => {
  let c: TestApiServer
  let pods: ResourceClient<Pod>
  let client: MirrorPodClient
  let node: Node

  before(async () => {
    c = await startTestApiServer()
    const rest = new RestClient({ ...loadKubeconfig(c.server.adminKubeconfig), userAgent: 'k8ts-test/0.1' })
    pods = new ResourceClient<Pod>(rest, builtin('', 'v1', 'pods'))
    node = await new ResourceClient<Node>(rest, builtin('', 'v1', 'nodes')).create({
      metadata: { name: 'node-a' },
    })
    client = new MirrorPodClient({ rest, nodeName: 'node-a', log: testLog })
  })

  after(async () => {
    await c.stop()
  })

  const manifest = (image: string) =>
    staticPodFromManifest(
      `apiVersion: v1\nkind: Pod\nmetadata: {name: etcd, namespace: kube-system}\nspec: {containers: [{name: etcd, image: "${image}"}]}\n`,
      { path: '/etc/kubernetes/manifests/etcd.yaml', nodeName: 'node-a' },
    )
  const apiPods = async () => (await pods.list('kube-system')).items

  test('a static pod gets a mirror with config.mirror and the Node as controller owner', async () => {
    const staticPod = manifest('registry.k8s.io/etcd:3.5.21-0')
    const result = await syncMirrorPods(client, [staticPod], await apiPods(), testLog)
    assert.deepEqual(result, { created: ['kube-system/etcd-node-a'], deleted: [] })
    const mirror = await pods.get('kube-system', 'etcd-node-a')
    assert.equal(mirror.metadata?.annotations?.[configMirrorAnnotation], staticPod.metadata?.uid)
    assert.equal(mirror.metadata?.annotations?.['kubernetes.io/config.source'], 'file')
    assert.notEqual(mirror.metadata?.uid, staticPod.metadata?.uid)
    assert.deepEqual(mirror.metadata?.ownerReferences, [
      { apiVersion: 'v1', kind: 'Node', name: 'node-a', uid: node.metadata?.uid, controller: true },
    ])
    assert.equal(mirror.spec?.nodeName, 'node-a')
    // In sync: nothing to do.
    assert.deepEqual(await syncMirrorPods(client, [staticPod], await apiPods(), testLog), {
      created: [],
      deleted: [],
    })
  })

  test('a changed manifest replaces the mirror; a removed one deletes it', async () => {
    const before = await pods.get('kube-system', 'etcd-node-a')
    const changed = manifest('registry.k8s.io/etcd:3.5.22-0')
    const result = await syncMirrorPods(client, [changed], await apiPods(), testLog)
    assert.deepEqual(result, { created: ['kube-system/etcd-node-a'], deleted: ['kube-system/etcd-node-a'] })
    const after = await pods.get('kube-system', 'etcd-node-a')
    assert.notEqual(after.metadata?.uid, before.metadata?.uid)
    assert.equal(after.metadata?.annotations?.[configMirrorAnnotation], changed.metadata?.uid)
    assert.equal(after.spec?.containers[0]?.image, 'registry.k8s.io/etcd:3.5.22-0')

    assert.deepEqual(await syncMirrorPods(client, [], await apiPods(), testLog), {
      created: [],
      deleted: ['kube-system/etcd-node-a'],
    })
    assert.deepEqual(await apiPods(), [])
  })

  test('an API pod of the same name that is not a mirror is left alone', async () => {
    await pods.create({
      metadata: { name: 'etcd-node-a', namespace: 'kube-system' },
      spec: { containers: [{ name: 'x', image: 'busybox' }] },
    })
    const result = await syncMirrorPods(
      client,
      [manifest('registry.k8s.io/etcd:3.5.21-0')],
      await apiPods(),
      testLog,
    )
    assert.deepEqual(result, { created: [], deleted: [] })
    assert.equal((await pods.get('kube-system', 'etcd-node-a')).spec?.containers[0]?.name, 'x')
  })
})

/**
 * A whole kubelet (node identity, so the Node authorizer and NodeRestriction judge its writes)
 * with --pod-manifest-path: the static pod runs on the fake runtime and its status shows on the
 * mirror pod; removing the manifest stops it and deletes the mirror.
 */
describe('kubelet static pods end to end', () => {
  let c: TestApiServer
  let admin: ResourceClient<Pod>
  let kubelet: RunningKubelet | undefined
  let manifests: string
  const nodeName = 'static-node-1'

  before(async () => {
    c = await startTestApiServer()
    const rest = new RestClient({ ...loadKubeconfig(c.server.adminKubeconfig), userAgent: 'k8ts-test/0.1' })
    admin = new ResourceClient<Pod>(rest, builtin('', 'v1', 'pods'))
    manifests = mkdtempSync(join(tmpdir(), 'k8ts-manifests-'))
    writeFileSync(
      join(manifests, 'web.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: default}\nspec: {containers: [{name: web, image: "nginx:1.27", command: [sleep, "3600"]}]}\n',
    )
    kubelet = startKubelet({
      client: await nodeClientConfig(c, nodeName),
      nodeName,
      runtime: new FakeRuntime({ runtimeName: 'containerd' }),
      podManager: new KubeletPodManager({ podManifestPath: manifests }),
      clock: realClock,
      log: testLog,
      machine: { cpus: 4, memoryBytes: 8 * 1024 ** 3, internalIP: '127.0.0.1', hostname: nodeName },
    })
  })

  after(async () => {
    await kubelet?.stop()
    await c.stop()
    rmSync(manifests, { recursive: true, force: true })
  })

  test('the static pod runs and its mirror shows it Running; without its manifest both go', async () => {
    const mirror = await until(
      async () => {
        const p = await admin.get('default', `web-${nodeName}`).catch(() => undefined)
        return p?.status?.phase === 'Running' && p
      },
      15_000,
      'the mirror pod to show the static pod Running',
    )
    assert.ok(mirror.metadata?.annotations?.[configMirrorAnnotation])
    assert.equal(mirror.metadata?.ownerReferences?.[0]?.kind, 'Node')
    assert.equal(mirror.status?.containerStatuses?.[0]?.ready, true)

    rmSync(join(manifests, 'web.yaml'))
    await until(
      async () => (await admin.list('default')).items.every((p) => p.metadata?.name !== `web-${nodeName}`),
      40_000,
      'the mirror pod to be deleted once the manifest is gone',
    )
  })
})
