import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Node, NodeCondition } from '../../api/generated/types/core-v1.ts'
import { applyStrategicMergePatch } from '../../api/patch/strategic-merge-patch.ts'
import { schemaForKind } from '../../api/schema.ts'
import type { MachineInfo } from './machine.ts'
import {
  initialNode,
  nodeAllocatable,
  nodeCapacity,
  nodeStatusHasChanged,
  nodeStatusPatch,
  reconcileExistingNode,
  setNodeStatus,
  type NodeStatusInputs,
} from './node-status.ts'

const machine: MachineInfo = {
  cpus: 4,
  memoryBytes: 16 * 1024 * 1024 * 1024,
  ephemeralStorageBytes: 100 * 1024 * 1024 * 1024,
  hugePageSizes: ['1Gi', '2Mi'],
  machineID: 'm-1',
  systemUUID: 'u-1',
  bootID: 'b-1',
  kernelVersion: '6.1.0',
  osImage: 'Debian GNU/Linux 12 (bookworm)',
  operatingSystem: 'linux',
  architecture: 'amd64',
  hostname: 'node-1',
  internalIP: '10.0.0.5',
}

const inputs = (o: Partial<NodeStatusInputs> = {}): NodeStatusInputs => ({
  machine,
  maxPods: 110,
  containerRuntimeVersion: 'fake://0.1.0',
  runtimeErrors: [],
  ...o,
})

const t0 = Date.UTC(2026, 0, 1)
const recorded: string[] = []
const record = (_type: string, reason: string) => void recorded.push(reason)
const condition = (node: Node, type: string): NodeCondition | undefined =>
  node.status?.conditions?.find((c) => c.type === type)

describe('the Node the kubelet registers', () => {
  test('carries the well-known labels, --node-labels, the attach/detach annotation and the taints', () => {
    const node = initialNode({
      nodeName: 'node-1',
      machine,
      nodeLabels: { 'node-role.kubernetes.io/worker': '', tier: 'gold' },
      registerWithTaints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }],
    })
    assert.deepEqual(node.metadata?.labels, {
      'kubernetes.io/hostname': 'node-1',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'beta.kubernetes.io/arch': 'amd64',
      'node-role.kubernetes.io/worker': '',
      tier: 'gold',
    })
    assert.deepEqual(node.metadata?.annotations, {
      'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
    })
    assert.deepEqual(node.spec, { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] })
  })

  test('an unschedulable registration adds the unschedulable taint', () => {
    const node = initialNode({ nodeName: 'n', machine, registerSchedulable: false })
    assert.deepEqual(node.spec, {
      unschedulable: true,
      taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }],
    })
  })

  test('an existing Node gets its default labels back and keeps the rest', () => {
    const existing: Node = {
      metadata: { name: 'node-1', labels: { 'kubernetes.io/os': 'windows', custom: 'x' } },
      spec: { taints: [{ key: 'a', effect: 'NoSchedule' }] },
    }
    const changed = reconcileExistingNode(
      existing,
      initialNode({ nodeName: 'node-1', machine, nodeLabels: { tier: 'gold' } }),
    )
    assert.equal(changed, true)
    assert.equal(existing.metadata?.labels?.['kubernetes.io/os'], 'linux')
    assert.equal(existing.metadata?.labels?.custom, 'x')
    assert.equal(existing.metadata?.labels?.tier, undefined, '--node-labels only on creation')
    assert.deepEqual(existing.spec?.taints, [{ key: 'a', effect: 'NoSchedule' }])
    assert.equal(reconcileExistingNode(existing, initialNode({ nodeName: 'node-1', machine })), false)
  })
})

describe('capacity and allocatable', () => {
  test('capacity reports cpu, memory, pods, ephemeral-storage and zero huge pages', () => {
    assert.deepEqual(nodeCapacity(inputs()), {
      cpu: '4',
      memory: '16Gi',
      pods: '110',
      'ephemeral-storage': '100Gi',
      'hugepages-1Gi': '0',
      'hugepages-2Mi': '0',
    })
  })

  test('allocatable loses the hard eviction thresholds and the reservations', () => {
    const i = inputs({ kubeReserved: { cpu: '100m', memory: '1Gi' }, systemReserved: { cpu: '400m' } })
    assert.deepEqual(nodeAllocatable(nodeCapacity(i), i), {
      cpu: '3500m',
      memory: '15260Mi', // 16Gi − 1Gi − 100Mi
      pods: '110',
      'ephemeral-storage': '90Gi', // nodefs.available<10%
      'hugepages-1Gi': '0',
      'hugepages-2Mi': '0',
    })
  })
})

describe('node status', () => {
  test('a first status is Ready with sufficient memory, no disk pressure and sufficient PID, and records the events', () => {
    recorded.length = 0
    const node = initialNode({ nodeName: 'node-1', machine })
    setNodeStatus(node, inputs(), t0, record)
    const s = node.status ?? {}
    assert.deepEqual(
      s.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
      [
        ['MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
        ['DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
        ['PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
        ['Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'],
      ],
    )
    for (const c of s.conditions ?? []) {
      assert.equal(c.lastHeartbeatTime, '2026-01-01T00:00:00Z')
      assert.equal(c.lastTransitionTime, '2026-01-01T00:00:00Z')
    }
    assert.deepEqual(recorded, ['NodeHasSufficientMemory', 'NodeHasNoDiskPressure', 'NodeHasSufficientPID'])
    assert.deepEqual(s.addresses, [
      { type: 'InternalIP', address: '10.0.0.5' },
      { type: 'Hostname', address: 'node-1' },
    ])
    assert.deepEqual(s.daemonEndpoints, { kubeletEndpoint: { Port: 10250 } })
    assert.equal(s.nodeInfo?.kubeletVersion, 'v1.35.0')
    assert.equal(s.nodeInfo?.containerRuntimeVersion, 'fake://0.1.0')
    assert.equal(s.nodeInfo?.kubeProxyVersion, '')
  })

  test('a runtime that is not ready makes Ready False with its reason, and NodeNotReady is recorded', () => {
    recorded.length = 0
    const node = initialNode({ nodeName: 'node-1', machine })
    setNodeStatus(node, inputs(), t0, record)
    recorded.length = 0
    const message =
      'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:cni plugin not initialized'
    setNodeStatus(node, inputs({ runtimeErrors: [message] }), t0 + 10_000, record)
    const ready = condition(node, 'Ready')
    assert.equal(ready?.status, 'False')
    assert.equal(ready?.reason, 'KubeletNotReady')
    assert.equal(ready?.message, message)
    assert.equal(ready?.lastTransitionTime, '2026-01-01T00:00:10Z')
    assert.deepEqual(recorded, ['NodeNotReady'])
    setNodeStatus(node, inputs({ runtimeErrors: ['a', 'b'] }), t0 + 20_000, record)
    assert.equal(condition(node, 'Ready')?.message, '[a, b]')
    assert.equal(condition(node, 'Ready')?.lastTransitionTime, '2026-01-01T00:00:10Z')
    setNodeStatus(node, inputs(), t0 + 30_000, record)
    assert.deepEqual(recorded, ['NodeNotReady', 'NodeReady'])
  })

  test('a status that only beats has not changed; one whose condition moved has', () => {
    const node = initialNode({ nodeName: 'node-1', machine })
    setNodeStatus(node, inputs(), t0, record)
    const before = structuredClone(node.status ?? {})
    setNodeStatus(node, inputs(), t0 + 10_000, record)
    assert.equal(condition(node, 'Ready')?.lastHeartbeatTime, '2026-01-01T00:00:10Z')
    assert.equal(condition(node, 'Ready')?.lastTransitionTime, '2026-01-01T00:00:00Z')
    assert.equal(nodeStatusHasChanged(before, node.status ?? {}), false)
    setNodeStatus(node, inputs({ pressure: { memory: true } }), t0 + 20_000, record)
    assert.equal(nodeStatusHasChanged(before, node.status ?? {}), true)
    assert.equal(condition(node, 'MemoryPressure')?.reason, 'KubeletHasInsufficientMemory')
  })

  test('the status patch applied to the old status gives the new one', () => {
    const node = initialNode({ nodeName: 'node-1', machine })
    setNodeStatus(node, inputs(), t0, record)
    const old = structuredClone(node)
    setNodeStatus(
      node,
      inputs({
        runtimeErrors: ['container runtime is down'],
        machine: { ...machine, internalIP: '10.0.0.6', cpus: 8 },
      }),
      t0 + 10_000,
      record,
    )
    const patch = nodeStatusPatch(old.status, node.status ?? {})
    const patched = applyStrategicMergePatch(
      old,
      patch,
      schemaForKind({ group: '', version: 'v1', kind: 'Node' }),
    ) as Node
    assert.deepEqual(patched.status, node.status)
    assert.deepEqual(nodeStatusPatch(node.status, node.status ?? {}), { status: {} })
  })
})
