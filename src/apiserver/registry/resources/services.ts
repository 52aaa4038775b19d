import { invalid as invalidField, type FieldError } from '../../../api/field-errors.ts'
import type { Service, ServicePort } from '../../../api/generated/types/core-v1.ts'
import type { StoredObject } from '../../../api/object.ts'
import type { ApiError } from '../../errors.ts'
import { internalError, invalid } from '../../errors.ts'
import type { RangeAllocator } from '../allocator.ts'
import { keepStatus, type ResourceStrategy } from '../strategy.ts'

type Svc = Service & StoredObject

/**
 * Services: the apiserver assigns cluster IPs from the service CIDR and node ports from the
 * NodePort range, as kube-apiserver does; values the user asks for are claimed if free, and an
 * update that does not mention them keeps them. Everything held is released when the Service
 * goes, or when a write that claimed it fails.
 */
export function serviceStrategy(ips: RangeAllocator, ports: RangeAllocator): ResourceStrategy {
  const owner = (s: StoredObject) => `${s.metadata.namespace ?? ''}/${s.metadata.name ?? ''}`

  const claimIp = async (s: Svc) => {
    const spec = (s.spec ??= {})
    if (spec.type === 'ExternalName') return
    const wanted = spec.clusterIP ?? spec.clusterIPs?.[0]
    if (wanted === 'None') {
      spec.clusterIP = 'None'
      spec.clusterIPs = ['None']
      return
    }
    if (wanted) {
      if (!(await ips.allocate(wanted, owner(s)))) {
        const why = ips.contains(wanted)
          ? `failed to allocate IP ${wanted}: provided IP is already allocated`
          : `failed to allocate IP ${wanted}: the provided IP (${wanted}) is not in the valid range`
        throw invalidService(s, [invalidField('spec.clusterIPs', [wanted], why)])
      }
      spec.clusterIP = wanted
      spec.clusterIPs = [wanted]
      return
    }
    const ip = await ips.allocateNext(owner(s))
    if (!ip) throw internalError('failed to allocate a serviceIP: range is full')
    spec.clusterIP = ip
    spec.clusterIPs = [ip]
  }

  const claimNodePorts = async (s: Svc, keep: Map<string, number>) => {
    const spec = s.spec ?? {}
    if (spec.type !== 'NodePort' && spec.type !== 'LoadBalancer') return
    const errors: FieldError[] = []
    for (const [i, p] of (spec.ports ?? []).entries()) {
      const kept = p.nodePort ? undefined : keep.get(portKey(p))
      const wanted = p.nodePort ?? kept
      if (wanted) {
        if (!(await ports.allocate(String(wanted), owner(s)))) {
          errors.push(
            invalidField(
              `spec.ports[${i}].nodePort`,
              wanted,
              ports.contains(String(wanted))
                ? 'provided port is already allocated'
                : 'provided port is not in the valid range. The range of valid ports is 30000-32767',
            ),
          )
          continue
        }
        p.nodePort = wanted
        continue
      }
      const next = await ports.allocateNext(owner(s))
      if (!next) throw internalError('failed to allocate a nodePort: range is full')
      p.nodePort = Number(next)
    }
    if (errors.length > 0) throw invalidService(s, errors)
  }

  const held = (s: Readonly<Svc>) => {
    const spec = s.spec ?? {}
    const ip = spec.clusterIP && spec.clusterIP !== 'None' ? [spec.clusterIP] : []
    const nodePorts = (spec.ports ?? [])
      .map((p) => p.nodePort)
      .filter((p): p is number => p !== undefined && p > 0)
    return { ips: ip, ports: nodePorts.map(String) }
  }

  const releaseAll = async (s: Readonly<Svc>, except?: Readonly<Svc>) => {
    const h = held(s)
    const k = except ? held(except) : { ips: [], ports: [] }
    for (const ip of h.ips) if (!k.ips.includes(ip)) await ips.release(ip, owner(s))
    for (const p of h.ports) if (!k.ports.includes(p)) await ports.release(p, owner(s))
  }

  return {
    async prepareForCreate(obj) {
      const s = obj as Svc
      s.status = { loadBalancer: {} }
      await claimIp(s)
      try {
        await claimNodePorts(s, new Map())
      } catch (err) {
        await releaseAll(s)
        throw err
      }
    },
    async afterCreate(obj, stored) {
      if (!stored) await releaseAll(obj)
    },
    async prepareForUpdate(next, prev) {
      keepStatus(next, prev)
      const n = next as Svc
      const p = prev as Svc
      const spec = (n.spec ??= {})
      const prevSpec = p.spec ?? {}
      // What the user left out of an update, the server keeps: the cluster IP...
      if (spec.type !== 'ExternalName' && prevSpec.type !== 'ExternalName') {
        if (!spec.clusterIP && !spec.clusterIPs) {
          if (prevSpec.clusterIP !== undefined) spec.clusterIP = prevSpec.clusterIP
          if (prevSpec.clusterIPs !== undefined) spec.clusterIPs = [...prevSpec.clusterIPs]
        } else if (spec.clusterIP && !spec.clusterIPs && spec.clusterIP === prevSpec.clusterIP) {
          spec.clusterIPs = [...(prevSpec.clusterIPs ?? [spec.clusterIP])]
        }
      }
      if (spec.type === 'ExternalName') {
        delete spec.clusterIP
        delete spec.clusterIPs
      } else if (!spec.clusterIP) {
        await claimIp(n)
      }
      // ...and the node ports of ports that are still there.
      const keep = new Map<string, number>()
      for (const port of prevSpec.ports ?? []) if (port.nodePort) keep.set(portKey(port), port.nodePort)
      const needsPorts = spec.type === 'NodePort' || spec.type === 'LoadBalancer'
      if (needsPorts) await claimNodePorts(n, keep)
      else for (const port of spec.ports ?? []) delete port.nodePort
    },
    async afterUpdate(next, prev, stored) {
      // Release what the loser no longer holds: the old values after a successful update, the
      // newly claimed ones after a failed one.
      if (stored) await releaseAll(prev, next)
      else await releaseAll(next, prev)
    },
    async afterDelete(obj) {
      await releaseAll(obj)
    },
  }
}

function portKey(p: ServicePort): string {
  return `${p.protocol ?? 'TCP'}/${p.port}`
}

function invalidService(s: Readonly<Svc>, errors: FieldError[]): ApiError {
  return invalid({ group: '', kind: 'Service' }, s.metadata.name ?? '', errors)
}

/**
 * Makes the allocations agree with the stored Services, as kube-apiserver's repair loops do at
 * start: values held for a Service that is gone (or no longer wants them) are freed, and values
 * a Service holds without a record (a crash between the two writes) are recorded.
 */
export async function repairServiceAllocations(
  services: readonly Readonly<StoredObject>[],
  ips: RangeAllocator,
  ports: RangeAllocator,
): Promise<void> {
  const wantedIps = new Map<string, string>()
  const wantedPorts = new Map<string, string>()
  for (const s of services as readonly Readonly<Svc>[]) {
    const owner = `${s.metadata.namespace ?? ''}/${s.metadata.name ?? ''}`
    for (const ip of s.spec?.clusterIPs ?? (s.spec?.clusterIP ? [s.spec.clusterIP] : [])) {
      if (ip !== 'None') wantedIps.set(ip, owner)
    }
    for (const p of s.spec?.ports ?? []) if (p.nodePort) wantedPorts.set(String(p.nodePort), owner)
  }
  await ips.repair((v, owner) => wantedIps.get(v) === owner, wantedIps)
  await ports.repair((v, owner) => wantedPorts.get(v) === owner, wantedPorts)
}
