import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { PersistentVolumeClaim, Pod, Volume } from '../../api/generated/types/core-v1.ts'
import { FakeClock } from '../../base/clock.ts'
import { CycleState } from '../framework/cycle-state.ts'
import type { Handle } from '../framework/interfaces.ts'
import { NodeInfo, podInfo } from '../framework/node-info.ts'
import type { Status } from '../framework/status.ts'
import { volumeRestrictions } from './volume-restrictions.ts'

/** A Handle with the nodes and PVCs; what VolumeRestrictions does not use throws. */
function fakeHandle(nodes: readonly NodeInfo[], pvcs: readonly PersistentVolumeClaim[]): Handle {
  const unused = (): never => {
    throw new Error('not used by VolumeRestrictions')
  }
  return {
    snapshot: {
      nodeList: () => nodes,
      node: (name) => nodes.find((n) => n.name === name),
      nodesWithImage: unused,
    },
    namespaceLabels: unused,
    defaultSelector: unused,
    persistentVolumeClaim: (namespace, name) =>
      pvcs.find((c) => c.metadata?.namespace === namespace && c.metadata.name === name),
    pdbs: unused,
    nominatedPods: unused,
    writes: { bind: unused, deleteVictim: unused, setNominatedNodeName: unused },
    clock: new FakeClock(),
  }
}

const gce = (pdName: string, readOnly = false): Volume => ({
  name: 'v',
  gcePersistentDisk: { pdName, ...(readOnly ? { readOnly } : {}) },
})
const aws = (volumeID: string, readOnly = false): Volume => ({
  name: 'v',
  awsElasticBlockStore: { volumeID, ...(readOnly ? { readOnly } : {}) },
})
const rbd = (monitors: string[], o: { pool?: string; image?: string; readOnly?: boolean } = {}): Volume => ({
  name: 'v',
  rbd: {
    monitors,
    pool: o.pool ?? 'foo',
    image: o.image ?? 'bar',
    fsType: 'ext4',
    ...(o.readOnly ? { readOnly: true } : {}),
  },
})
const iscsi = (iqn: string, readOnly = false): Volume => ({
  name: 'v',
  iscsi: { targetPortal: '127.0.0.1:3260', iqn, fsType: 'ext4', lun: 0, ...(readOnly ? { readOnly } : {}) },
})
const claim = (claimName: string): Volume => ({ name: claimName, persistentVolumeClaim: { claimName } })
const emptyDir: Volume = { name: 'scratch', emptyDir: {} }

let uid = 0
const makePod = (volumes: Volume[] = [], o: { namespace?: string; name?: string } = {}): Pod => ({
  metadata: { name: o.name ?? `p${++uid}`, namespace: o.namespace ?? 'default', uid: `uid-${++uid}` },
  spec: { containers: [{ name: 'c', image: 'pause' }], ...(volumes.length ? { volumes } : {}) },
})

const makePVC = (name: string, accessModes: string[], namespace = 'default'): PersistentVolumeClaim => ({
  metadata: { name, namespace },
  spec: { accessModes },
})

const makeNode = (name: string, pods: Pod[]): NodeInfo => {
  const n = new NodeInfo({
    metadata: { name },
    status: { allocatable: { cpu: '4', memory: '8Gi', pods: '110' } },
  })
  for (const p of pods) n.addPod(podInfo(p))
  return n
}

const summary = (s: Status) => [s.code, ...s.reasons].join(': ')

const disk = 'Unschedulable: node(s) had no available disk'
const rwop =
  'Unschedulable: node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode'

interface Case {
  name: string
  pod: Pod
  /** Pods on the node that Filter looks at. */
  nodePods?: Pod[]
  /** Pods on another node of the cluster. */
  otherPods?: Pod[]
  pvcs?: PersistentVolumeClaim[]
  wantPreFilter: string
  /** Filter's answer; unset when PreFilter rejects the pod (Filter never runs then). */
  wantFilter?: string
}

/** PreFilter with the cluster, then (unless PreFilter rejected) Filter on node n1: both summaries. */
function run(c: Case): { preFilter: string; filter?: string } {
  const node = makeNode('n1', c.nodePods ?? [])
  const nodes = [node, makeNode('n2', c.otherPods ?? [])]
  const plugin = volumeRestrictions(fakeHandle(nodes, c.pvcs ?? []))
  const state = new CycleState()
  const r = plugin.preFilter(state, c.pod, nodes)
  // Our framework runs Filter after a PreFilter Skip too, so it must pass such pods.
  if (r.status.rejected) return { preFilter: summary(r.status) }
  return { preFilter: summary(r.status), filter: summary(plugin.filter(state, c.pod, node)) }
}

const diskKinds: { kind: string; same: Volume; other: Volume }[] = [
  { kind: 'GCE PD', same: gce('foo'), other: gce('bar') },
  { kind: 'AWS EBS', same: aws('foo'), other: aws('bar') },
  { kind: 'RBD', same: rbd(['a', 'b']), other: rbd(['c', 'd']) },
  {
    kind: 'iSCSI',
    same: iscsi('iqn.2016-12.server:storage.target01'),
    other: iscsi('iqn.2017-12.server:storage.target01'),
  },
]

const cases: Case[] = [
  ...diskKinds.flatMap(({ kind, same, other }): Case[] => [
    {
      name: `${kind}: a pod without volumes on an empty node is skipped`,
      pod: makePod(),
      wantPreFilter: 'Skip',
      wantFilter: 'Success',
    },
    {
      name: `${kind}: a pod without volumes fits next to a pod with the disk`,
      pod: makePod(),
      nodePods: [makePod([same])],
      wantPreFilter: 'Skip',
      wantFilter: 'Success',
    },
    {
      name: `${kind}: the same disk already mounted on the node does not fit`,
      pod: makePod([same]),
      nodePods: [makePod([same])],
      wantPreFilter: 'Success',
      wantFilter: disk,
    },
    {
      name: `${kind}: another disk fits`,
      pod: makePod([other]),
      nodePods: [makePod([same])],
      wantPreFilter: 'Success',
      wantFilter: 'Success',
    },
    {
      name: `${kind}: the same disk on another node fits`,
      pod: makePod([same]),
      otherPods: [makePod([same])],
      wantPreFilter: 'Success',
      wantFilter: 'Success',
    },
  ]),
  {
    name: 'a pod whose volumes have no restrictions is skipped',
    pod: makePod([emptyDir]),
    nodePods: [makePod([gce('foo')])],
    wantPreFilter: 'Skip',
    wantFilter: 'Success',
  },
  {
    name: 'GCE PD: mounted read-only by both pods fits',
    pod: makePod([gce('foo', true)]),
    nodePods: [makePod([gce('foo', true)])],
    wantPreFilter: 'Success',
    wantFilter: 'Success',
  },
  {
    name: 'GCE PD: read-only next to a read-write mount does not fit',
    pod: makePod([gce('foo', true)]),
    nodePods: [makePod([gce('foo')])],
    wantPreFilter: 'Success',
    wantFilter: disk,
  },
  {
    name: 'AWS EBS: even read-only mounts of one volume do not fit together',
    pod: makePod([aws('foo', true)]),
    nodePods: [makePod([aws('foo', true)])],
    wantPreFilter: 'Success',
    wantFilter: disk,
  },
  {
    name: 'iSCSI: mounted read-only by both pods fits',
    pod: makePod([iscsi('iqn.a', true)]),
    nodePods: [makePod([iscsi('iqn.a', true)])],
    wantPreFilter: 'Success',
    wantFilter: 'Success',
  },
  {
    name: 'RBD: one shared monitor with the same pool and image is the same image',
    pod: makePod([rbd(['a', 'x'])]),
    nodePods: [makePod([rbd(['y', 'a'])])],
    wantPreFilter: 'Success',
    wantFilter: disk,
  },
  {
    name: 'RBD: another pool fits',
    pod: makePod([rbd(['a'], { pool: 'other' })]),
    nodePods: [makePod([rbd(['a'])])],
    wantPreFilter: 'Success',
    wantFilter: 'Success',
  },
  {
    name: 'RBD: mounted read-only by both pods fits',
    pod: makePod([rbd(['a'], { readOnly: true })]),
    nodePods: [makePod([rbd(['a'], { readOnly: true })])],
    wantPreFilter: 'Success',
    wantFilter: 'Success',
  },
  {
    name: 'a disk clash is found among several volumes and pods',
    pod: makePod([emptyDir, aws('x'), gce('foo')]),
    nodePods: [makePod([aws('y')]), makePod([emptyDir, gce('foo')])],
    wantPreFilter: 'Success',
    wantFilter: disk,
  },
]

// ReadWriteOncePod, with Kubernetes' test's claims and pods.
const rwop1 = makePVC('claim-with-rwop-1', ['ReadWriteOncePod'])
const rwop2 = makePVC('claim-with-rwop-2', ['ReadWriteOncePod'])
const rwx = makePVC('claim-with-rwx', ['ReadWriteMany'])
const rwo = makePVC('claim-with-rwo', ['ReadWriteOnce'])
const withOneClaim = makePod([claim('claim-with-rwop-1')])
const withTwoClaims = makePod([claim('claim-with-rwop-1'), claim('claim-with-rwop-2')])
const withRWXClaim = makePod([claim('claim-with-rwx')])

cases.push(
  {
    name: 'ReadWriteOncePod: a pod without claims is skipped',
    pod: makePod(),
    wantPreFilter: 'Skip',
    wantFilter: 'Success',
  },
  {
    name: 'a claim that does not exist is unresolvable until it is created',
    pod: makePod([claim('claim-with-rwop-1')]),
    wantPreFilter: 'UnschedulableAndUnresolvable: persistentvolumeclaim "claim-with-rwop-1" not found',
  },
  {
    name: 'a claim that exists only in another namespace is not found',
    pod: makePod([claim('claim-with-rwop-1')], { namespace: 'team-a' }),
    pvcs: [rwop1],
    wantPreFilter: 'UnschedulableAndUnresolvable: persistentvolumeclaim "claim-with-rwop-1" not found',
  },
  {
    name: 'ReadWriteOncePod: a claim nobody uses yet is skipped',
    pod: makePod([claim('claim-with-rwop-1')]),
    nodePods: [withRWXClaim],
    pvcs: [rwop1, rwx],
    wantPreFilter: 'Skip',
    wantFilter: 'Success',
  },
  {
    name: 'ReadWriteOncePod: a claim a pod on the node uses is unschedulable',
    pod: makePod([claim('claim-with-rwop-1')]),
    nodePods: [withOneClaim, withRWXClaim],
    pvcs: [rwop1, rwx],
    wantPreFilter: 'Success',
    wantFilter: rwop,
  },
  {
    name: 'ReadWriteOncePod: two claims in use are unschedulable',
    pod: makePod([claim('claim-with-rwop-1'), claim('claim-with-rwop-2')]),
    nodePods: [withTwoClaims, withRWXClaim],
    pvcs: [rwop1, rwop2, rwx],
    wantPreFilter: 'Success',
    wantFilter: rwop,
  },
  {
    name: 'ReadWriteOncePod: a claim in use on another node makes every node unschedulable',
    pod: makePod([claim('claim-with-rwop-1')]),
    otherPods: [withOneClaim],
    pvcs: [rwop1],
    wantPreFilter: 'Success',
    wantFilter: rwop,
  },
  {
    name: 'ReadWriteOncePod: the same claim name in another namespace is another claim',
    pod: makePod([claim('claim-with-rwop-1')]),
    nodePods: [makePod([claim('claim-with-rwop-1')], { namespace: 'team-a' })],
    pvcs: [rwop1, makePVC('claim-with-rwop-1', ['ReadWriteOncePod'], 'team-a')],
    wantPreFilter: 'Skip',
    wantFilter: 'Success',
  },
  {
    name: 'a ReadWriteOnce claim may be shared by pods',
    pod: makePod([claim('claim-with-rwo')]),
    nodePods: [makePod([claim('claim-with-rwo')])],
    pvcs: [rwo],
    wantPreFilter: 'Skip',
    wantFilter: 'Success',
  },
  {
    name: 'a disk clash is reported before a ReadWriteOncePod conflict',
    pod: makePod([gce('foo'), claim('claim-with-rwop-1')]),
    nodePods: [makePod([gce('foo')]), withOneClaim],
    pvcs: [rwop1],
    wantPreFilter: 'Success',
    wantFilter: disk,
  },
)

for (const c of cases) {
  test(`VolumeRestrictions: ${c.name}`, () => {
    const want = { preFilter: c.wantPreFilter, ...(c.wantFilter ? { filter: c.wantFilter } : {}) }
    assert.deepEqual(run(c), want)
  })
}

test('VolumeRestrictions: preemption’s what-ifs (RemovePod, AddPod) move the ReadWriteOncePod conflict', () => {
  const holder = makePod([claim('claim-with-rwop-1')], { name: 'holder' })
  const node = makeNode('n1', [holder])
  const plugin = volumeRestrictions(fakeHandle([node], [rwop1]))
  const pod = makePod([claim('claim-with-rwop-1')])
  const state = new CycleState()
  assert.equal(summary(plugin.preFilter(state, pod, [node]).status), 'Success')
  assert.equal(summary(plugin.filter(state, pod, node)), rwop)

  // Preemption works on a copy: evicting the holder would make room, in the copy only.
  const whatIf = state.clone()
  assert.equal(summary(plugin.removePod(whatIf, pod, podInfo(holder), node)), 'Success')
  assert.equal(summary(plugin.filter(whatIf, pod, node)), 'Success')
  assert.equal(summary(plugin.filter(state, pod, node)), rwop)

  // A nominated pod that uses the claim takes it again; one of another namespace does not.
  plugin.addPod(whatIf, pod, podInfo(makePod([claim('claim-with-rwop-1')], { namespace: 'team-a' })), node)
  assert.equal(summary(plugin.filter(whatIf, pod, node)), 'Success')
  plugin.addPod(whatIf, pod, podInfo(makePod([claim('claim-with-rwop-1')])), node)
  assert.equal(summary(plugin.filter(whatIf, pod, node)), rwop)
})

test('VolumeRestrictions: what-ifs for a pod that PreFilter skipped change nothing', () => {
  const node = makeNode('n1', [])
  const plugin = volumeRestrictions(fakeHandle([node], [rwop1]))
  const pod = makePod([claim('claim-with-rwop-1')])
  const state = new CycleState()
  assert.equal(summary(plugin.preFilter(state, pod, [node]).status), 'Skip')
  assert.equal(summary(plugin.addPod(state, pod, podInfo(withOneClaim), node)), 'Success')
  assert.equal(summary(plugin.filter(state, pod, node)), 'Success')
})
