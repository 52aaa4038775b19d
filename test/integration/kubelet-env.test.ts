import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { ConfigMap, Pod, Secret, Service } from '../../src/api/generated/types/core-v1.ts'
import { realClock } from '../../src/base/clock.ts'
import { builtin, Informer, loadKubeconfig, ResourceClient, RestClient } from '../../src/client/index.ts'
import { KubeletPodManager, startKubelet, type RunningKubelet } from '../../src/kubelet/index.ts'
import { ApiPodStatusWriter, PodWorkers, runPodSource } from '../../src/kubelet/pod/index.ts'
import { PodResources } from '../../src/kubelet/pod/pod-resources.ts'
import { FakeRuntime } from '../../src/kubelet/runtime/fake/fake-runtime.ts'
import type { CreateContainerRequest } from '../../src/kubelet/runtime/runtime.ts'
import { startTestApiServer, nodeClientConfig, testLog, type TestApiServer } from '../support/cluster.ts'
import { until } from '../support/until.ts'

/**
 * Container environments made from the API: pod workers on the fake runtime with PodResources
 * reading ConfigMaps and Secrets from a real apiserver and services from an informer; the fake
 * runtime records the container config the kubelet created.
 */
describe('kubelet container environment against an apiserver', () => {
  let c: TestApiServer
  let rest: RestClient
  let pods: ResourceClient<Pod>
  let runtime: FakeRuntime
  let workers: PodWorkers
  let source: Promise<void>
  let servicesRun: Promise<void>
  let serviceInformer: Informer<Service>
  const stop = new AbortController()

  before(async () => {
    c = await startTestApiServer()
    rest = new RestClient({ ...loadKubeconfig(c.server.adminKubeconfig), userAgent: 'k8ts-test/0.1' })
    pods = new ResourceClient<Pod>(rest, builtin('', 'v1', 'pods'))
    serviceInformer = new Informer<Service>(new ResourceClient<Service>(rest, builtin('', 'v1', 'services')))
    servicesRun = serviceInformer.run(stop.signal)
    await serviceInformer.waitForSync(stop.signal)
    runtime = new FakeRuntime({ runtimeName: 'containerd' })
    workers = new PodWorkers({
      runtime,
      clock: realClock,
      statusWriter: new ApiPodStatusWriter(pods),
      hostIPs: ['127.0.0.1'],
      resolveEnv: new PodResources({ rest, clock: realClock, services: serviceInformer }),
      log: testLog,
    })
    await workers.start()
    source = runPodSource({ rest, nodeName: 'node-1', workers, clock: realClock, log: testLog }, stop.signal)
  })

  after(async () => {
    stop.abort()
    await source.catch(() => {})
    await servicesRun.catch(() => {})
    workers.stop()
    await workers.idle()
    await c.stop()
  })

  const pod = (name: string, container: Partial<NonNullable<Pod['spec']>['containers'][number]>): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeName: 'node-1',
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'app', image: 'busybox:1.36', command: ['sleep', '3600'], ...container }],
    },
  })

  /** The env of the last container the kubelet created for the pod. */
  const createdEnv = (podName: string): Record<string, string> | undefined => {
    const created = runtime
      .calls('createContainer')
      .map((call) => call.request as CreateContainerRequest)
      .filter((r) => r.sandboxConfig?.metadata?.name === podName)
      .at(-1)
    if (created === undefined) return undefined
    return Object.fromEntries(created.config?.envs.map((e) => [e.key, e.value]) ?? [])
  }

  test('env from a ConfigMap, a Secret, envFrom and service links reaches the container', async () => {
    const configMaps = new ResourceClient<ConfigMap>(rest, builtin('', 'v1', 'configmaps'))
    const secrets = new ResourceClient<Secret>(rest, builtin('', 'v1', 'secrets'))
    const services = new ResourceClient<Service>(rest, builtin('', 'v1', 'services'))
    await configMaps.create({
      metadata: { name: 'app-config', namespace: 'default' },
      data: { mode: 'fast', LEVEL: '3' },
    })
    await secrets.create({
      metadata: { name: 'app-secret', namespace: 'default' },
      data: { password: Buffer.from('s3cr3t').toString('base64') },
    })
    const db = await services.create({
      metadata: { name: 'my-db', namespace: 'default' },
      spec: { ports: [{ name: 'pg', port: 5432 }] },
    })
    const kubernetes = await services.get('default', 'kubernetes')
    // The informer must have seen the new service before the pod starts.
    await until(() => serviceInformer.lister.get('default', 'my-db'), 5000, 'the informer to see the service')

    await pods.create(
      pod('env-ok', {
        envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'app-config' } }],
        env: [
          { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'mode' } } },
          { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'app-secret', key: 'password' } } },
          { name: 'DB', value: '$(MY_DB_SERVICE_HOST):$(MY_DB_SERVICE_PORT)' },
        ],
      }),
    )
    const env = await until(() => createdEnv('env-ok'), 10_000, 'the container to be created')
    assert.equal(env.MODE, 'fast')
    assert.equal(env.PASSWORD, 's3cr3t')
    assert.equal(env.CFG_mode, 'fast')
    assert.equal(env.CFG_LEVEL, '3')
    assert.equal(env.MY_DB_SERVICE_HOST, db.spec?.clusterIP)
    assert.equal(env.MY_DB_SERVICE_PORT, '5432')
    assert.equal(env.MY_DB_SERVICE_PORT_PG, '5432')
    assert.equal(env.MY_DB_PORT, `tcp://${db.spec?.clusterIP}:5432`)
    assert.equal(env.DB, `${db.spec?.clusterIP}:5432`)
    assert.equal(env.KUBERNETES_SERVICE_HOST, kubernetes.spec?.clusterIP)
    assert.equal(env.KUBERNETES_SERVICE_PORT, '443')
    await until(
      async () => (await pods.get('default', 'env-ok')).status?.phase === 'Running',
      10_000,
      'the pod to run',
    )
  })

  test('a missing ConfigMap leaves the container waiting with CreateContainerConfigError', async () => {
    await pods.create(
      pod('env-missing', {
        env: [{ name: 'MODE', valueFrom: { configMapKeyRef: { name: 'absent', key: 'mode' } } }],
      }),
    )
    const waiting = await until(
      async () => {
        const s = (await pods.get('default', 'env-missing')).status?.containerStatuses?.[0]?.state?.waiting
        return s?.reason === 'CreateContainerConfigError' && s
      },
      10_000,
      'the container to wait with CreateContainerConfigError',
    )
    assert.equal(waiting.message, 'configmap "absent" not found')
    assert.equal(createdEnv('env-missing'), undefined)
    assert.equal((await pods.get('default', 'env-missing')).status?.phase, 'Pending')
  })
})

/**
 * The same through a whole kubelet as system:node:<name>: the pod manager's default PodResources
 * reads the ConfigMap with the node's own client, which the Node authorizer allows because a pod
 * bound to the node refers to it.
 */
describe('kubelet container environment with the node identity', () => {
  let c: TestApiServer
  let rest: RestClient
  let kubelet: RunningKubelet | undefined
  const runtime = new FakeRuntime({ runtimeName: 'containerd' })
  const nodeName = 'env-node-1'

  before(async () => {
    c = await startTestApiServer()
    rest = new RestClient({ ...loadKubeconfig(c.server.adminKubeconfig), userAgent: 'k8ts-test/0.1' })
    kubelet = startKubelet({
      client: await nodeClientConfig(c, nodeName),
      nodeName,
      runtime,
      podManager: new KubeletPodManager(),
      clock: realClock,
      log: testLog,
      machine: { cpus: 4, memoryBytes: 8 * 1024 ** 3, internalIP: '127.0.0.1', hostname: nodeName },
    })
  })

  after(async () => {
    await kubelet?.stop()
    await c.stop()
  })

  test('a configMapKeyRef and a secretKeyRef are read with the node client', async () => {
    await new ResourceClient<ConfigMap>(rest, builtin('', 'v1', 'configmaps')).create({
      metadata: { name: 'node-config', namespace: 'default' },
      data: { mode: 'node' },
    })
    await new ResourceClient<Secret>(rest, builtin('', 'v1', 'secrets')).create({
      metadata: { name: 'node-secret', namespace: 'default' },
      data: { token: Buffer.from('t0k3n').toString('base64') },
    })
    const pods = new ResourceClient<Pod>(rest, builtin('', 'v1', 'pods'))
    await pods.create({
      metadata: { name: 'with-config', namespace: 'default' },
      spec: {
        nodeName,
        containers: [
          {
            name: 'app',
            image: 'busybox:1.36',
            command: ['sleep', '3600'],
            env: [
              { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'node-config', key: 'mode' } } },
              { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'node-secret', key: 'token' } } },
            ],
          },
        ],
      },
    })
    const created = await until(
      () =>
        runtime
          .calls('createContainer')
          .map((call) => call.request as CreateContainerRequest)
          .find((r) => r.sandboxConfig?.metadata?.name === 'with-config'),
      15_000,
      'the container to be created',
    )
    const env = Object.fromEntries(created.config?.envs.map((e) => [e.key, e.value]) ?? [])
    assert.equal(env.MODE, 'node')
    assert.equal(env.TOKEN, 't0k3n')
  })
})
