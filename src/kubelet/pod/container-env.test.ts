import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ConfigMap, Container, Pod, Secret, Service } from '../../api/generated/types/core-v1.ts'
import {
  ContainerConfigError,
  containerEnv,
  expand,
  expandArgs,
  resourceFieldValue,
  serviceLinkEnv,
  type EnvResolver,
} from './container-env.ts'

test('expand: $(NAME), $$ as $, unknown names and a lone $ as written', () => {
  const values = new Map([['A', 'x']])
  assert.equal(expand('$(A)-$(B)-$$(A)-$-$', values), 'x-$(B)-$(A)-$-$')
  assert.equal(expand('$(A', values), '$(A')
})

const makePod = (container: Partial<Container>, spec: Partial<Pod['spec']> = {}): Pod => ({
  metadata: { name: 'web', namespace: 'prod', uid: 'u-1', labels: { app: 'shop' } },
  spec: { nodeName: 'node-1', containers: [{ name: 'app', image: 'busybox', ...container }], ...spec },
})

const b64 = (s: string) => Buffer.from(s).toString('base64')
const configMap = (name: string, data: Record<string, string>): ConfigMap => ({
  metadata: { name, namespace: 'prod' },
  data,
})
const secret = (name: string, data: Record<string, string>): Secret => ({
  metadata: { name, namespace: 'prod' },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
})
const service = (
  namespace: string,
  name: string,
  clusterIP: string,
  ports: Service['spec'] = {},
): Service => ({
  metadata: { name, namespace },
  spec: { clusterIP, ...ports },
})

/** An in-memory resolver: what a PodResources would read from the API. */
function resolver(o: {
  configMaps?: ConfigMap[]
  secrets?: Secret[]
  services?: Service[]
  allocatable?: Record<string, string>
}): EnvResolver {
  const find = <T extends { metadata?: { name?: string; namespace?: string } }>(
    items: T[] = [],
    ns: string,
    n: string,
  ) => Promise.resolve(items.find((x) => x.metadata?.name === n && x.metadata.namespace === ns))
  return {
    configMap: (ns, n) => find(o.configMaps, ns, n),
    secret: (ns, n) => find(o.secrets, ns, n),
    serviceEnv: (pod) => serviceLinkEnv(o.services ?? [], pod),
    nodeAllocatable: () => o.allocatable,
  }
}

const envOf = async (pod: Pod, r: EnvResolver | undefined) => {
  const c = pod.spec?.containers[0]
  assert.ok(c)
  const env = await containerEnv(pod, c, {
    podIPs: ['10.88.0.5'],
    hostIPs: ['192.168.1.10'],
    ...(r ? { resolver: r } : {}),
  })
  return env.map((e) => `${e.key}=${e.value}`)
}

const cases: {
  name: string
  container: Partial<Container>
  spec?: Partial<Pod['spec']>
  resolver?: Parameters<typeof resolver>[0]
  want: string[] | { error: string }
}[] = [
  {
    name: 'literals and fieldRef in order, each able to refer to the ones before it',
    container: {
      env: [
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'GREETING', value: 'hello $(POD_NAME) on $(NODE)' },
        { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'EMPTY' },
      ],
    },
    want: [
      'POD_NAME=web',
      'POD_IP=10.88.0.5',
      'APP=shop',
      'GREETING=hello web on $(NODE)',
      'NODE=node-1',
      'EMPTY=',
    ],
  },
  {
    name: 'configMapKeyRef and secretKeyRef read the objects of the pod namespace',
    container: {
      env: [
        { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } } },
        { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
      ],
    },
    resolver: {
      configMaps: [configMap('cfg', { mode: 'fast' })],
      secrets: [secret('creds', { password: 's3cr3t' })],
    },
    want: ['MODE=fast', 'PASSWORD=s3cr3t'],
  },
  {
    name: 'a missing ConfigMap fails the container with the kubelet cache error',
    container: { env: [{ name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } } }] },
    resolver: {},
    want: { error: 'configmap "cfg" not found' },
  },
  {
    name: 'a missing Secret fails the container',
    container: { env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'creds', key: 'p' } } }] },
    resolver: {},
    want: { error: 'secret "creds" not found' },
  },
  {
    name: 'a missing key of a ConfigMap fails the container',
    container: { env: [{ name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } } }] },
    resolver: { configMaps: [configMap('cfg', {})] },
    want: { error: "couldn't find key mode in ConfigMap prod/cfg" },
  },
  {
    name: 'a missing key of a Secret fails the container',
    container: { env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'creds', key: 'p' } } }] },
    resolver: { secrets: [secret('creds', {})] },
    want: { error: "couldn't find key p in Secret prod/creds" },
  },
  {
    name: 'optional references to missing objects or keys leave the variable out',
    container: {
      env: [
        { name: 'A', valueFrom: { configMapKeyRef: { name: 'nope', key: 'a', optional: true } } },
        { name: 'B', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'b', optional: true } } },
        { name: 'C', valueFrom: { secretKeyRef: { name: 'nope', key: 'c', optional: true } } },
        { name: 'D', value: 'd' },
      ],
      envFrom: [
        { configMapRef: { name: 'gone', optional: true } },
        { secretRef: { name: 'gone', optional: true } },
      ],
    },
    resolver: { configMaps: [configMap('cfg', {})] },
    want: ['D=d'],
  },
  {
    name: 'optional: false is not optional',
    container: { envFrom: [{ configMapRef: { name: 'gone', optional: false } }] },
    resolver: {},
    want: { error: 'configmap "gone" not found' },
  },
  {
    name: 'envFrom with prefix; env replaces what envFrom set; every key is taken, as since 1.34 (no skipping)',
    container: {
      envFrom: [{ configMapRef: { name: 'cfg' } }, { prefix: 'S_', secretRef: { name: 'creds' } }],
      env: [
        { name: 'MODE', value: 'from-env' },
        { name: 'REF', value: '$(S_user)/$(LEVEL)' },
      ],
    },
    resolver: {
      configMaps: [
        configMap('cfg', { MODE: 'fast', LEVEL: '3', '1bad': 'x', 'has space': 'y', 'dotted.key': 'ok' }),
      ],
      secrets: [secret('creds', { user: 'admin' })],
    },
    want: [
      'MODE=from-env',
      'LEVEL=3',
      '1bad=x',
      'has space=y',
      'dotted.key=ok',
      'S_user=admin',
      'REF=admin/3',
    ],
  },
  {
    name: 'service links: the namespace services and the master service, after env and not replacing it',
    container: {
      env: [
        { name: 'DB_SERVICE_PORT', value: 'mine' },
        { name: 'URL', value: '$(DB_SERVICE_HOST)' },
      ],
    },
    resolver: {
      services: [
        service('default', 'kubernetes', '10.96.0.1', {
          ports: [{ name: 'https', port: 443, protocol: 'TCP' }],
        }),
        service('prod', 'db', '10.96.0.20', { ports: [{ port: 5432 }] }),
        service('prod', 'headless', 'None', { ports: [{ port: 80 }] }),
        service('other', 'web', '10.96.0.30', { ports: [{ port: 80 }] }),
      ],
    },
    want: [
      'DB_SERVICE_PORT=mine',
      'URL=10.96.0.20',
      'DB_SERVICE_HOST=10.96.0.20',
      'DB_PORT=tcp://10.96.0.20:5432',
      'DB_PORT_5432_TCP=tcp://10.96.0.20:5432',
      'DB_PORT_5432_TCP_PROTO=tcp',
      'DB_PORT_5432_TCP_PORT=5432',
      'DB_PORT_5432_TCP_ADDR=10.96.0.20',
      'KUBERNETES_SERVICE_HOST=10.96.0.1',
      'KUBERNETES_SERVICE_PORT=443',
      'KUBERNETES_SERVICE_PORT_HTTPS=443',
      'KUBERNETES_PORT=tcp://10.96.0.1:443',
      'KUBERNETES_PORT_443_TCP=tcp://10.96.0.1:443',
      'KUBERNETES_PORT_443_TCP_PROTO=tcp',
      'KUBERNETES_PORT_443_TCP_PORT=443',
      'KUBERNETES_PORT_443_TCP_ADDR=10.96.0.1',
    ],
  },
  {
    name: 'enableServiceLinks false keeps only the master service',
    container: {},
    spec: { enableServiceLinks: false },
    resolver: {
      services: [
        service('default', 'kubernetes', '10.96.0.1', { ports: [{ port: 443, protocol: 'TCP' }] }),
        service('prod', 'db', '10.96.0.20', { ports: [{ port: 5432 }] }),
      ],
    },
    want: [
      'KUBERNETES_SERVICE_HOST=10.96.0.1',
      'KUBERNETES_SERVICE_PORT=443',
      'KUBERNETES_PORT=tcp://10.96.0.1:443',
      'KUBERNETES_PORT_443_TCP=tcp://10.96.0.1:443',
      'KUBERNETES_PORT_443_TCP_PROTO=tcp',
      'KUBERNETES_PORT_443_TCP_PORT=443',
      'KUBERNETES_PORT_443_TCP_ADDR=10.96.0.1',
    ],
  },
  {
    name: 'resourceFieldRef: limits with a divisor, the node allocatable without a limit, requests',
    container: {
      resources: { limits: { memory: '128Mi' }, requests: { cpu: '250m', memory: '64Mi' } },
      env: [
        {
          name: 'MEM_LIMIT_MI',
          valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } },
        },
        { name: 'CPU_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
        {
          name: 'CPU_REQUEST_M',
          valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1m' } },
        },
        { name: 'CPU_REQUEST', valueFrom: { resourceFieldRef: { resource: 'requests.cpu' } } },
        { name: 'MEM_REQUEST', valueFrom: { resourceFieldRef: { resource: 'requests.memory' } } },
      ],
    },
    resolver: { allocatable: { cpu: '3500m', memory: '8Gi' } },
    want: ['MEM_LIMIT_MI=128', 'CPU_LIMIT=4', 'CPU_REQUEST_M=250', 'CPU_REQUEST=1', 'MEM_REQUEST=67108864'],
  },
  {
    name: 'a ConfigMap reference without a resolver is an error, not a silent gap',
    container: { env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'a' } } }] },
    want: { error: 'no API client to read ConfigMaps and Secrets' },
  },
]

for (const c of cases) {
  test(`env: ${c.name}`, async () => {
    const pod = makePod(c.container, c.spec)
    const r = c.resolver ? resolver(c.resolver) : undefined
    if ('error' in c.want) {
      await assert.rejects(envOf(pod, r), (err: unknown) => {
        assert.ok(err instanceof ContainerConfigError)
        assert.equal(err.message, (c.want as { error: string }).error)
        assert.equal(err.code, 'CreateContainerConfigError')
        return true
      })
      return
    }
    assert.deepEqual(await envOf(pod, r), c.want)
  })
}

test('env: command and args expand from the whole environment, service variables included', async () => {
  const pod = makePod({
    command: ['echo', '$(GREETING)'],
    args: ['$(KUBERNETES_SERVICE_HOST)', '$(MISSING)', '$$(GREETING)'],
    env: [{ name: 'GREETING', value: 'hi' }],
  })
  const env = await containerEnv(pod, pod.spec?.containers[0] as Container, {
    podIPs: [],
    hostIPs: [],
    resolver: resolver({
      services: [service('default', 'kubernetes', '10.96.0.1', { ports: [{ port: 443 }] })],
    }),
  })
  assert.deepEqual(expandArgs(['echo', '$(GREETING)'], env), ['echo', 'hi'])
  assert.deepEqual(expandArgs(pod.spec?.containers[0]?.args ?? [], env), [
    '10.96.0.1',
    '$(MISSING)',
    '$(GREETING)',
  ])
})

test('resourceFieldValue: containerName picks another container; unknown resources are errors', () => {
  const pod = makePod({}, {})
  pod.spec?.containers.push({
    name: 'side',
    image: 'x',
    resources: { limits: { 'ephemeral-storage': '1G' } },
  })
  const app = pod.spec?.containers[0] as Container
  const value = resourceFieldValue(
    pod,
    app,
    { containerName: 'side', resource: 'limits.ephemeral-storage', divisor: '1M' },
    {},
  )
  assert.equal(value, '1000')
  assert.throws(
    () => resourceFieldValue(pod, app, { resource: 'limits.gpu' }, {}),
    /unsupported container resource : limits.gpu/,
  )
})
