import { FieldPath, GoSyntaxValue, internalError, invalid, type FieldError } from '../field-errors.ts'
import type { PodIP } from '../generated/types/core-v1.ts'
import { ipFamily, parseIPSloppy, validateLegacyIP } from './ip.ts'
import { objs, str, type Obj } from './util.ts'

/**
 * A pod's IPs and its node's IPs in status (podIP/podIPs, hostIP/hostIPs), as kube-apiserver
 * v1.35 takes them on a pods/status write.
 *
 * The v1 API has both a podIP and a podIPs list; the internal Pod only the list. Decoding a
 * request (Convert_v1_PodStatus_To_core_PodStatus) makes the list from both, podIP winning for
 * older kubelets: a podIP with no list, or one that differs from podIPs[0], becomes the whole list
 * (a second IP is dropped). Encoding sets podIP to podIPs[0]. Validation sees the list so made,
 * and a client reading the pod back sees the same. hostIP and hostIPs are both internal fields:
 * nothing rewrites them, validation requires hostIP to equal hostIPs[0] when there is a list,
 * and a hostIP without a list is not checked at all.
 */

/** The pod IPs as the internal Pod holds them: the v1 podIPs, unless podIP says otherwise. */
export function podIPsOf(status: Readonly<{ podIP?: unknown; podIPs?: unknown }>): string[] {
  const podIP = str(status.podIP)
  const ips = objs(status.podIPs).map((p) => str(p.ip))
  return podIP !== '' && ips[0] !== podIP ? [podIP] : ips
}

/**
 * Rewrites podIP and podIPs as a round trip through the internal Pod leaves them (what the
 * status strategy stores, so a client reads back what was validated).
 */
export function reconcilePodIPs(status: { podIP?: string; podIPs?: PodIP[] }): void {
  const ips = podIPsOf(status)
  const listed = objs(status.podIPs).map((p) => str(p.ip))
  if (ips[0]) status.podIP = ips[0]
  else delete status.podIP
  if (ips.length === 0) delete status.podIPs
  else if (listed.length !== ips.length || listed.some((ip, i) => ip !== ips[i])) {
    status.podIPs = ips.map((ip) => ({ ip }))
  }
}

/**
 * A list of PodIP or HostIP structs as Go prints it in a field error on the whole list (%#v of
 * the internal slice: `[]core.PodIP{core.PodIP{IP:"10.0.0.1"}, core.PodIP{IP:"fd00::1"}}`).
 */
function ipListValue(type: 'core.PodIP' | 'core.HostIP', ips: readonly string[]): GoSyntaxValue {
  const text = `[]${type}{${ips.map((ip) => `${type}{IP:${JSON.stringify(ip)}}`).join(', ')}}`
  return new GoSyntaxValue(
    text,
    ips.map((ip) => ({ ip })),
  )
}

const status = FieldPath.root('status')

/** validatePodIPs: each IP valid (unless the old pod had it), at most one per family. */
export function validatePodIPs(now: Obj, before: Obj): FieldError[] {
  return validateIPList(status.child('podIPs'), 'core.PodIP', podIPsOf(now), podIPsOf(before))
}

/** validateHostIPs: as for pod IPs, and hostIP must be hostIPs[0]; nothing without a list. */
export function validateHostIPs(now: Obj, before: Obj): FieldError[] {
  const ips = objs(now.hostIPs).map((h) => str(h.ip))
  const first = ips[0]
  if (first === undefined) return []
  const path = status.child('hostIPs')
  const errs: FieldError[] = []
  if (str(now.hostIP) !== first)
    errs.push(invalid(path.index(0).child('ip'), first, 'must be equal to `hostIP`'))
  const old = objs(before.hostIPs).map((h) => str(h.ip))
  errs.push(...validateIPList(path, 'core.HostIP', ips, old))
  return errs
}

function validateIPList(
  path: FieldPath,
  type: 'core.PodIP' | 'core.HostIP',
  ips: readonly string[],
  old: readonly string[],
): FieldError[] {
  const errs = ips.flatMap((ip, i) => validateLegacyIP(path.index(i), ip, old))
  if (ips.length <= 1) return errs
  // netutils.IsDualStackIPStrings: an IP it cannot parse (even one kept from the old pod) is an
  // internal error, and the list then does not count as dual-stack either.
  const families = new Set<4 | 6>()
  for (const [i, ip] of ips.entries()) {
    const parsed = parseIPSloppy(ip)
    if (!parsed) {
      errs.push(internalError(path, `failed to check for dual stack with error:invalid IP[${i}]: ${ip}`))
      families.clear()
      break
    }
    families.add(ipFamily(parsed))
  }
  if (families.size < 2 || ips.length > 2) {
    errs.push(invalid(path, ipListValue(type, ips), 'may specify no more than one IP for each IP family'))
  }
  return errs
}
