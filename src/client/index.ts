/**
 * How every component but the apiserver reaches the cluster: a REST client, typed per resource,
 * informers that keep an indexed cache of what they watch, the controllers' work queue, leader
 * election on a Lease, and an event recorder.
 */
export { loadKubeconfig, KubeconfigError, type ClientConfig } from './config.ts'
export {
  ApiStatusError,
  TransportError,
  isAlreadyExists,
  isConflict,
  isInvalid,
  isNotFound,
  isResourceExpired,
  isTooManyRequests,
} from './errors.ts'
export { RestClient, type Query, type RequestOptions, type WatchEvent } from './rest.ts'
export {
  builtin,
  ResourceClient,
  type ListOptions,
  type ObjectList,
  type ObjectLike,
  type PatchOptions,
  type PatchType,
  type ResourceRef,
  type WatchOptions,
  type WriteOptions,
} from './resource.ts'
export { IndexedCache, Lister, namespaceIndex, objectKey, splitKey, type IndexFunc } from './cache.ts'
export {
  Informer,
  InformerFactory,
  withoutManagedFields,
  type EventHandler,
  type InformerOptions,
} from './informer.ts'
export {
  BucketRateLimiter,
  defaultControllerRateLimiter,
  ExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  runWorkers,
  TerminalError,
  WorkQueue,
  type RateLimiter,
  type Reconciler,
  type Requeue,
  type RunWorkersOptions,
  type WorkQueueOptions,
} from './workqueue.ts'
export {
  LeaderElector,
  microTime,
  electorFor,
  runLeading,
  type LeaderCallbacks,
  type LeaderElectionSettings,
  type LeaderElectionOptions,
  type LeadingRun,
} from './leader-election.ts'
export { EventRecorder, referenceTo, type EventRecorderOptions, type EventType } from './events.ts'
export { TokenBucket } from './token-bucket.ts'
export {
  processMetrics,
  serveComponent,
  type ComponentCheck,
  type ComponentServer,
  type ComponentServerOptions,
  type MetricsSource,
} from './component-server.ts'
export {
  bootstrapNodeClientCertificate,
  CertificateRequestRefusedError,
  kubeletClientPairName,
  kubeletClientUsages,
  loadCurrentCertificate,
  NodeClientCertificateManager,
  type NodeClientCertificate,
  type NodeClientCertificateOptions,
} from './certificate-bootstrap.ts'
