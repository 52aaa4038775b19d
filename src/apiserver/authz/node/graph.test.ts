import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { PersistentVolume, Pod, PodSpec } from '../../../api/generated/types/core-v1.ts'
import { NodeGraph, type VertexType } from './graph.ts'

function pod(name: string, nodeName: string, spec: Partial<PodSpec> = {}, more: Partial<Pod> = {}): Pod {
  return {
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, ...more.metadata },
    spec: { containers: [{ name: 'c' }], nodeName, ...spec },
    ...(more.status ? { status: more.status } : {}),
  }
}

function pv(name: string, claim: string | undefined, spec: PersistentVolume['spec'] = {}): PersistentVolume {
  return {
    metadata: { name },
    spec: { ...spec, ...(claim ? { claimRef: { namespace: 'ns', name: claim } } : {}) },
  }
}

/** Everything a pod may name, one of each. */
const everything: Partial<PodSpec> = {
  serviceAccountName: 'sa',
  imagePullSecrets: [{ name: 'pull' }],
  initContainers: [{ name: 'i', envFrom: [{ secretRef: { name: 'init-env' } }] }],
  containers: [
    {
      name: 'c',
      env: [
        { name: 'A', valueFrom: { secretKeyRef: { name: 'env-secret', key: 'k' } } },
        { name: 'B', valueFrom: { configMapKeyRef: { name: 'env-cm', key: 'k' } } },
      ],
      envFrom: [{ configMapRef: { name: 'envfrom-cm' } }],
    },
  ],
  ephemeralContainers: [{ name: 'e', envFrom: [{ secretRef: { name: 'debug-env' } }] }],
  volumes: [
    { name: 's', secret: { secretName: 'vol-secret' } },
    { name: 'c', configMap: { name: 'vol-cm' } },
    {
      name: 'p',
      projected: {
        sources: [{ secret: { name: 'proj-secret' } }, { configMap: { name: 'kube-root-ca.crt' } }],
      },
    },
    { name: 'csi', csi: { driver: 'd', nodePublishSecretRef: { name: 'csi-secret' } } },
    { name: 'claim', persistentVolumeClaim: { claimName: 'data' } },
    { name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: {} } } },
  ],
  resourceClaims: [
    { name: 'gpu', resourceClaimName: 'shared-gpu' },
    { name: 'made', resourceClaimTemplateName: 't' },
    { name: 'pending', resourceClaimTemplateName: 't' },
  ],
}

const reaches = (g: NodeGraph, node: string, type: VertexType, name: string, namespace = 'ns') =>
  g.hasPathFrom(node, type, namespace, name)

test('a bound pod links everything it names to its node, and nothing to other nodes', () => {
  const g = new NodeGraph()
  g.addPod(
    pod('p', 'n1', everything, {
      status: {
        resourceClaimStatuses: [{ name: 'made', resourceClaimName: 'p-made-x1' }, { name: 'pending' }],
      },
    }),
  )
  const cases: [VertexType, string][] = [
    ['pod', 'p'],
    ['serviceaccount', 'sa'],
    ['secret', 'pull'],
    ['secret', 'init-env'],
    ['secret', 'env-secret'],
    ['secret', 'debug-env'],
    ['secret', 'vol-secret'],
    ['secret', 'proj-secret'],
    ['secret', 'csi-secret'],
    ['configmap', 'env-cm'],
    ['configmap', 'envfrom-cm'],
    ['configmap', 'vol-cm'],
    ['configmap', 'kube-root-ca.crt'],
    ['pvc', 'data'],
    ['pvc', 'p-scratch'],
    ['resourceclaim', 'shared-gpu'],
    ['resourceclaim', 'p-made-x1'],
  ]
  for (const [type, name] of cases) {
    assert.equal(reaches(g, 'n1', type, name), true, `${type} ${name} reaches n1`)
    assert.equal(reaches(g, 'n2', type, name), false, `${type} ${name} does not reach n2`)
  }
  assert.equal(reaches(g, 'n1', 'secret', 'other'), false)
  assert.equal(reaches(g, 'n1', 'secret', 'vol-secret', 'elsewhere'), false)
  assert.equal(reaches(g, 'n1', 'configmap', 'vol-secret'), false, 'types are not mixed up')
})

test('a mirror pod links only itself to its node', () => {
  const g = new NodeGraph()
  g.addPod(pod('m', 'n1', everything, { metadata: { annotations: { 'kubernetes.io/config.mirror': 'x' } } }))
  assert.equal(reaches(g, 'n1', 'pod', 'm'), true)
  assert.equal(reaches(g, 'n1', 'secret', 'vol-secret'), false)
  assert.equal(reaches(g, 'n1', 'serviceaccount', 'sa'), false)
})

test('deleting a pod takes away what only it granted, and leaves what another pod of the node grants', () => {
  const g = new NodeGraph()
  g.addPod(pod('a', 'n1', { volumes: [{ name: 's', secret: { secretName: 'shared' } }] }))
  g.addPod(pod('b', 'n1', { volumes: [{ name: 's', secret: { secretName: 'shared' } }] }))
  g.addPod(pod('c', 'n1', { volumes: [{ name: 's', secret: { secretName: 'own' } }] }))
  g.deletePod('ns', 'a')
  assert.equal(reaches(g, 'n1', 'secret', 'shared'), true)
  g.deletePod('ns', 'c')
  assert.equal(reaches(g, 'n1', 'secret', 'own'), false)
  assert.equal(g.has('secret', 'ns', 'own'), false, 'an object left with no edge leaves the graph')
  g.deletePod('ns', 'b')
  assert.equal(reaches(g, 'n1', 'secret', 'shared'), false)
  assert.equal(g.size, 0)
})

test('adding a pod again replaces its references (a pod recreated under the same name on another node)', () => {
  const g = new NodeGraph()
  g.addPod(pod('p', 'n1', { volumes: [{ name: 's', secret: { secretName: 'old' } }] }))
  g.addPod(pod('p', 'n2', { volumes: [{ name: 's', secret: { secretName: 'new' } }] }))
  assert.equal(reaches(g, 'n1', 'secret', 'old'), false)
  assert.equal(reaches(g, 'n1', 'pod', 'p'), false)
  assert.equal(reaches(g, 'n2', 'secret', 'new'), true)
  assert.equal(g.has('node', '', 'n1'), false)
})

test('a persistent volume reaches the nodes of the pods using its claim, and so do the secrets the kubelet reads for it', () => {
  const g = new NodeGraph()
  g.addPersistentVolume(
    pv('vol', 'data', {
      csi: {
        driver: 'd',
        volumeHandle: 'h',
        nodeStageSecretRef: { namespace: 'secrets', name: 'stage' },
        controllerPublishSecretRef: { namespace: 'secrets', name: 'controller' },
      },
    }),
  )
  assert.equal(reaches(g, 'n1', 'pv', 'vol', ''), false, 'no pod uses the claim yet')
  g.addPod(pod('p', 'n1', { volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'data' } }] }))
  assert.equal(reaches(g, 'n1', 'pv', 'vol', ''), true)
  assert.equal(reaches(g, 'n1', 'secret', 'stage', 'secrets'), true)
  assert.equal(
    reaches(g, 'n1', 'secret', 'controller', 'secrets'),
    false,
    'controller secrets are not the kubelet’s',
  )
  assert.equal(reaches(g, 'n2', 'pv', 'vol', ''), false)
  g.addPersistentVolume(pv('vol', undefined))
  assert.equal(reaches(g, 'n1', 'pv', 'vol', ''), false, 'a released volume links nowhere')
  g.deletePersistentVolume('vol')
  assert.equal(g.has('pv', '', 'vol'), false)
})

test('volume attachments and resource slices reach the node they name', () => {
  const g = new NodeGraph()
  g.addNodeObject('volumeattachment', 'va', 'n1')
  g.addNodeObject('resourceslice', 'slice', 'n2')
  assert.equal(reaches(g, 'n1', 'volumeattachment', 'va', ''), true)
  assert.equal(reaches(g, 'n2', 'volumeattachment', 'va', ''), false)
  assert.equal(reaches(g, 'n2', 'resourceslice', 'slice', ''), true)
  g.addNodeObject('volumeattachment', 'va', 'n2')
  assert.equal(reaches(g, 'n1', 'volumeattachment', 'va', ''), false)
  assert.equal(reaches(g, 'n2', 'volumeattachment', 'va', ''), true)
  g.deleteNodeObject('volumeattachment', 'va')
  g.deleteNodeObject('resourceslice', 'slice')
  assert.equal(g.size, 0)
})

test('a configmap every pod mounts answers from its destination index, and stays right as pods come and go', () => {
  const g = new NodeGraph()
  const mounting = (name: string, node: string) =>
    pod(name, node, { volumes: [{ name: 'ca', configMap: { name: 'kube-root-ca.crt' } }] })
  for (let i = 0; i < 500; i++) g.addPod(mounting(`p${i}`, `n${i % 10}`))
  g.addPod(mounting('lonely', 'n-last'))
  for (let i = 0; i < 10; i++) assert.equal(reaches(g, `n${i}`, 'configmap', 'kube-root-ca.crt'), true)
  assert.equal(reaches(g, 'n-last', 'configmap', 'kube-root-ca.crt'), true)
  g.deletePod('ns', 'lonely')
  assert.equal(reaches(g, 'n-last', 'configmap', 'kube-root-ca.crt'), false)
  for (let i = 0; i < 500; i += 10) g.deletePod('ns', `p${i}`)
  assert.equal(reaches(g, 'n0', 'configmap', 'kube-root-ca.crt'), false, 'the index forgot n0')
  assert.equal(reaches(g, 'n1', 'configmap', 'kube-root-ca.crt'), true)
  for (let i = 0; i < 500; i++) g.deletePod('ns', `p${i}`)
  assert.equal(g.size, 0)
})

test('a secret shared by many pods reaches through a persistent volume too', () => {
  const g = new NodeGraph()
  for (let i = 0; i < 300; i++) {
    g.addPod(pod(`p${i}`, 'busy', { volumes: [{ name: 's', secret: { secretName: 'shared' } }] }))
  }
  g.addPersistentVolume(
    pv('vol', 'data', { rbd: { image: 'i', monitors: ['m'], secretRef: { name: 'shared' } } }),
  )
  assert.equal(reaches(g, 'quiet', 'secret', 'shared'), false)
  g.addPod(pod('q', 'quiet', { volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'data' } }] }))
  assert.equal(reaches(g, 'quiet', 'secret', 'shared'), true, 'secret → pv → pvc → pod → node')
  assert.equal(reaches(g, 'busy', 'secret', 'shared'), true)
})
