import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ContainerImage, Pod } from '../../api/generated/types/core-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { CycleState } from '../framework/cycle-state.ts'
import type { Handle } from '../framework/interfaces.ts'
import { NodeInfo } from '../framework/node-info.ts'
import {
  imageLocality,
  imageScore,
  maxContainerThreshold,
  minThreshold,
  normalizedImageName,
} from './image-locality.ts'

const mb = 1024 * 1024

/** A Handle whose snapshot holds the nodes; what ImageLocality does not use throws. */
function fakeHandle(nodes: readonly NodeInfo[]): Handle {
  const unused = (): never => {
    throw new Error('not used by ImageLocality')
  }
  return {
    snapshot: {
      nodeList: () => nodes,
      node: (name) => nodes.find((n) => n.name === name),
      // Nodes, not names, are counted: a node listing a name twice is one node.
      nodesWithImage: (image) =>
        nodes.filter((n) => (n.node.status?.images ?? []).some((i) => i.names?.includes(image))).length,
    },
    namespaceLabels: unused,
    defaultSelector: unused,
    persistentVolumeClaim: unused,
    pdbs: unused,
    nominatedPods: unused,
    writes: { bind: unused, deleteVictim: unused, setNominatedNodeName: unused },
    clock: new FakeClock(),
  }
}

const image = (sizeMB: number, ...names: string[]): ContainerImage => ({ names, sizeBytes: sizeMB * mb })

const makeNode = (name: string, images: ContainerImage[] = []): NodeInfo =>
  new NodeInfo({
    metadata: { name },
    status: { allocatable: { cpu: '4', memory: '8Gi', pods: '110' }, ...(images.length ? { images } : {}) },
  })

const makePod = (containers: string[], initContainers: string[] = []): Pod => ({
  metadata: { name: 'p', namespace: 'default', uid: 'p-uid' },
  spec: {
    containers: containers.map((image, i) => ({ name: `c${i}`, image })),
    ...(initContainers.length
      ? { initContainers: initContainers.map((image, i) => ({ name: `i${i}`, image })) }
      : {}),
  },
})

/**
 * Runs PreScore once and Score for every node, as the framework does: when PreScore says Skip
 * (no node has any of the pod's images), Score is not run and every node scores 0.
 */
function scores(pod: Pod, nodes: NodeInfo[]): Record<string, number> {
  const plugin = imageLocality(fakeHandle(nodes))
  const state = new CycleState()
  const code = plugin.preScore(state, pod, nodes).code
  const anyImage = nodes.some((n) => [...n.imageSizes.keys()].some((i) => podImages(pod).includes(i)))
  assert.equal(code, anyImage ? 'Success' : 'Skip')
  return Object.fromEntries(nodes.map((n) => [n.name, code === 'Skip' ? 0 : plugin.score(state, pod, n)]))
}

const podImages = (pod: Pod): string[] =>
  [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) =>
    normalizedImageName(c.image ?? ''),
  )

// The node images of Kubernetes' own test table (sizes in MiB).
const with40and300and2000 = [
  image(40, 'gcr.io/40:latest', 'gcr.io/40:v1', 'gcr.io/40:v1'),
  image(300, 'gcr.io/300:latest', 'gcr.io/300:v1'),
  image(2000, 'gcr.io/2000:latest'),
]
const with250and10 = [image(250, 'gcr.io/250:latest'), image(10, 'gcr.io/10:latest', 'gcr.io/10:v1')]
const with600and40and900 = [
  image(600, 'gcr.io/600:latest'),
  image(40, 'gcr.io/40:latest'),
  image(900, 'gcr.io/900:latest'),
]
const with300and600and900 = [
  image(300, 'gcr.io/300:latest'),
  image(600, 'gcr.io/600:latest'),
  image(900, 'gcr.io/900:latest'),
]
const with4000and30 = [image(4000, 'gcr.io/4000:latest'), image(30, 'gcr.io/30:latest')]
const with20and30and40 = [
  image(20, 'gcr.io/20:latest'),
  image(30, 'gcr.io/30:latest'),
  image(40, 'gcr.io/40:latest'),
]

const cases: { name: string; pod: Pod; nodes: NodeInfo[]; want: Record<string, number> }[] = [
  {
    // n1: 40 MiB on 1 of 2 nodes counts 20 MiB, under the 23 MiB floor. n2: 250/2 = 125 MiB,
    // 100 × (125 − 23) / (2 × 1000 − 23) = 5.
    name: 'of two images on two nodes, the node with the larger one is preferred',
    pod: makePod(['gcr.io/40', 'gcr.io/250']),
    nodes: [makeNode('n1', with40and300and2000), makeNode('n2', with250and10)],
    want: { n1: 0, n2: 5 },
  },
  {
    // n1: (40 + 300) / 2 = 170 MiB: 100 × 147 / 1977 = 7.
    name: 'the node with both images is preferred',
    pod: makePod(['gcr.io/40', 'gcr.io/300']),
    nodes: [makeNode('n1', with40and300and2000), makeNode('n2', with250and10)],
    want: { n1: 7, n2: 0 },
  },
  {
    // n1: 4000/2 = 2000 MiB reaches the ceiling of 1000 MiB × 2 containers.
    name: 'an image past the ceiling scores the maximum',
    pod: makePod(['gcr.io/10', 'gcr.io/4000']),
    nodes: [makeNode('n1', with4000and30), makeNode('n2', with250and10)],
    want: { n1: 100, n2: 0 },
  },
  {
    // n1: 4000/3 = 1333 MiB: 100 × 1310 / 1977 = 66; 10 MiB on n2 stays under the floor.
    name: 'a node without images scores 0 and lowers every image’s spread',
    pod: makePod(['gcr.io/10', 'gcr.io/4000']),
    nodes: [makeNode('n1', with4000and30), makeNode('n2', with250and10), makeNode('n3')],
    want: { n1: 66, n2: 0, n3: 0 },
  },
  {
    // n1: (600 + 900) × 2/3 = 1000 MiB: 100 × 977 / 2977 = 32.
    // n2: 300 × 1/3 + (600 + 900) × 2/3 = 1100 MiB: 100 × 1077 / 2977 = 36.
    name: 'three large images: the node with all of them is preferred',
    pod: makePod(['gcr.io/300', 'gcr.io/600', 'gcr.io/900']),
    nodes: [makeNode('n1', with600and40and900), makeNode('n2', with300and600and900), makeNode('n3')],
    want: { n1: 32, n2: 36, n3: 0 },
  },
  {
    // n1: 30 (on both nodes) + 40/2 = 50 MiB: 100 × 27 / 1977 = 1. n2: 30 MiB: 100 × 7 / 1977 = 0.
    name: 'small images add up past the floor',
    pod: makePod(['gcr.io/30', 'gcr.io/40']),
    nodes: [makeNode('n1', with20and30and40), makeNode('n2', with4000and30)],
    want: { n1: 1, n2: 0 },
  },
  {
    // n1: the init container's 300/2 = 150 MiB: 100 × 127 / 1977 = 6; n2: 30/2 = 15 MiB.
    name: 'init containers’ images count too, and raise the ceiling',
    pod: makePod(['gcr.io/30'], ['gcr.io/300']),
    nodes: [makeNode('n1', with40and300and2000), makeNode('n2', with20and30and40)],
    want: { n1: 6, n2: 0 },
  },
  {
    // Both containers count the 600 MiB image on every node: 1200 MiB of a 2000 MiB ceiling:
    // 100 × 1177 / 1977 = 59.
    name: 'an image used by two containers counts twice',
    pod: makePod(['gcr.io/600', 'gcr.io/600:latest']),
    nodes: [
      makeNode('n1', [image(600, 'gcr.io/600:latest')]),
      makeNode('n2', [image(600, 'gcr.io/600:latest')]),
    ],
    want: { n1: 59, n2: 59 },
  },
  {
    name: 'a tagged image matches only that tag',
    pod: makePod(['gcr.io/300:v2']),
    nodes: [makeNode('n1', with300and600and900)],
    want: { n1: 0 },
  },
  {
    // The implicit registry is not filled in, as upstream: "nginx" is not docker.io/library/nginx.
    name: 'an image name without its registry does not match the fully qualified one',
    pod: makePod(['nginx']),
    nodes: [makeNode('n1', [image(500, 'docker.io/library/nginx:latest')])],
    want: { n1: 0 },
  },
  {
    name: 'a pod without containers scores 0',
    pod: { metadata: { name: 'p' }, spec: { containers: [] } },
    nodes: [makeNode('n1', with300and600and900)],
    want: { n1: 0 },
  },
]
for (const c of cases) {
  test(`ImageLocality: ${c.name}`, () => assert.deepEqual(scores(c.pod, c.nodes), c.want))
}

test('ImageLocality: spread is over every node in the snapshot, not only the feasible ones', () => {
  const n1 = makeNode('n1', [image(500, 'gcr.io/500:latest')])
  const all = [n1, makeNode('n2'), makeNode('n3'), makeNode('n4')]
  const pod = makePod(['gcr.io/500'])
  const plugin = imageLocality(fakeHandle(all))
  const state = new CycleState()
  plugin.preScore(state, pod, [n1])
  // 500/4 = 125 MiB: 100 × 102 / 977 = 10 (with only n1 counted it would be 100 × 477 / 977 = 48).
  assert.equal(plugin.score(state, pod, n1), 10)
})

const names: { name: string; input: string; want: string }[] = [
  { name: 'a bare name gets :latest', input: 'root', want: 'root:latest' },
  { name: 'a registry port is not a tag', input: 'gcr.io:5000/root', want: 'gcr.io:5000/root:latest' },
  { name: 'a tag is kept', input: 'root:tag', want: 'root:tag' },
  {
    name: 'a digest is kept',
    input: 'root@sha256:4813494d137e1631bba301d5acab6e7bb7aa74ce1185d456565ef51d737677b2',
    want: 'root@sha256:4813494d137e1631bba301d5acab6e7bb7aa74ce1185d456565ef51d737677b2',
  },
  { name: 'the implicit registry is left alone', input: 'library/nginx', want: 'library/nginx:latest' },
]
for (const c of names) {
  test(`normalizedImageName: ${c.name}`, () => assert.equal(normalizedImageName(c.input), c.want))
}

test('imageScore: clamped to the floor and to 1000 MiB per container', () => {
  assert.equal(imageScore(0, 1), 0)
  assert.equal(imageScore(minThreshold, 1), 0)
  assert.equal(imageScore(maxContainerThreshold, 1), 100)
  assert.equal(imageScore(5 * maxContainerThreshold, 2), 100)
  assert.equal(imageScore(maxContainerThreshold, 2), 49)
  assert.equal(imageScore(maxContainerThreshold, 0), 0)
})
