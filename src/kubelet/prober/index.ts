/**
 * Probes and lifecycle hooks of the kubelet: the probe manager the pod workers consult, the hook
 * runner, and the network seam (ProbeNetwork) through which httpGet, tcpSocket and grpc reach pods.
 */
export {
  ProbeManager,
  reasonProbeWarning,
  reasonUnhealthy,
  type FailedProbe,
  type ProbeManagerOptions,
  type ProbeType,
} from './prober-manager.ts'
export { runProbe, resolvePort, probeDefaults, probeUserAgent, type ProbeOutcome } from './probe.ts'
export {
  runLifecycleHandler,
  reasonFailedPostStartHook,
  reasonFailedPreStopHook,
  reasonPostStartHookError,
} from './hooks.ts'
export {
  noNetwork,
  joinHostPort,
  type DialRequest,
  type GrpcHealthResult,
  type HttpRequest,
  type HttpResponse,
  type ProbeNetwork,
  type ServingStatus,
} from './network.ts'
export { realProbeNetwork } from './real-network.ts'
