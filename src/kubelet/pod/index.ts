/**
 * The kubelet's pod lifecycle: pod workers on the runtime interface, the PLEG, pod status as the
 * kubelet reports it, the status manager, and admission on the node. The node side (registration,
 * leases, the pod informer) feeds PodWorkers.updatePod / removePod and reads nothing else.
 */
export {
  PodWorkers,
  gracePeriodOf,
  type PodEventRecorder,
  type PodWork,
  type PodWorkersOptions,
} from './pod-workers.ts'
export { Pleg, relistPeriodMs, type PodLifecycleEvent } from './pleg.ts'
export { StatusManager, podRefOf, type PodRef, type PodStatusWriter } from './status-manager.ts'
export { ApiPodStatusWriter, kubeletFieldManager } from './api-status-writer.ts'
export { admitPod, rejectedStatus, matchesNodeAffinity, type AdmitResult } from './admission.ts'
export { generatePodStatus, podPhase, type RuntimePod, type WaitingReason } from './pod-status.ts'
export { qosClassOf, cgroupParentOf, type QOSClass } from './runtime-config.ts'
export { runPodSource, housekeepingPeriodMs, type PodSourceOptions } from './pod-source.ts'
