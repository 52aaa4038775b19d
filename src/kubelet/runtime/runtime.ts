/**
 * The container runtime as the kubelet sees it: the RuntimeService and ImageService of CRI v1
 * (k8s.io/cri-api runtime/v1), method for method, with CRI's messages (./generated/runtime-v1.ts,
 * generated from api.proto). A CRI client over gRPC is then a thin translation: the request goes
 * to protobufjs' fromObject, the reply comes back through toObject with longs as numbers and
 * enums as names. The in-memory fake (./fake/) implements the same interfaces, and both pass
 * describeRuntime (./conformance.ts).
 *
 * Requests are proto3 messages: any field may be left out and then means its zero value
 * (Proto3Partial). Replies carry every scalar, enum, repeated and map field; message fields
 * may be missing, as on the wire.
 *
 * Failures are thrown as CriError with a gRPC status code (./errors.ts). NotFound means the
 * sandbox, container or image named by id does not exist (any more).
 *
 * Lifecycles (what the runtime guarantees, and what the kubelet relies on):
 *
 *   sandbox:    runPodSandbox ──▶ SANDBOX_READY ──stopPodSandbox──▶ SANDBOX_NOTREADY ──removePodSandbox──▶ gone
 *   container:  createContainer ──▶ CONTAINER_CREATED ──startContainer──▶ CONTAINER_RUNNING
 *                 ──(exits, or stopContainer)──▶ CONTAINER_EXITED ──removeContainer──▶ gone
 *
 * A start that fails leaves the container CONTAINER_EXITED (containerd: exit code 128, reason
 * StartError). Stopping a sandbox kills the containers in it; removing a sandbox removes them.
 * Nothing ever goes back: a restarted container is a new container (metadata.attempt + 1).
 */
import type * as cri from './generated/runtime-v1.ts'

export type * from './generated/runtime-v1.ts'

/** A proto3 message as a request: every field may be left out, and then is its zero value. */
export type Proto3Partial<T> = T extends Uint8Array
  ? T
  : T extends readonly (infer U)[]
    ? readonly Proto3Partial<U>[]
    : T extends object
      ? { [K in keyof T]?: Proto3Partial<T[K]> }
      : T

/** Per call: abort to give up waiting (a gRPC client cancels the call, as a deadline would). */
export interface CallOptions {
  signal?: AbortSignal
}

type Call<Req, Res> = (request: Proto3Partial<Req>, options?: CallOptions) => Promise<Res>

/** CRI's RuntimeService: sandboxes, containers, streaming endpoints and stats. */
export interface RuntimeService {
  /** The runtime's name and version; runtimeApiVersion is 'v1'. */
  version: Call<cri.VersionRequest, cri.VersionResponse>
  /** Runtime conditions RuntimeReady and NetworkReady (the kubelet's node Ready depends on them). */
  status: Call<cri.StatusRequest, cri.StatusResponse>
  /** Hands the runtime the node's pod CIDR (runtimeConfig.networkConfig.podCidr). */
  updateRuntimeConfig: Call<cri.UpdateRuntimeConfigRequest, cri.UpdateRuntimeConfigResponse>

  /** Creates and starts a sandbox: SANDBOX_READY with its network set up when this resolves. */
  runPodSandbox: Call<cri.RunPodSandboxRequest, cri.RunPodSandboxResponse>
  /** Kills every container in the sandbox and releases its network; idempotent. */
  stopPodSandbox: Call<cri.StopPodSandboxRequest, cri.StopPodSandboxResponse>
  /** Removes the sandbox and its containers, forcibly; idempotent (no error when already gone). */
  removePodSandbox: Call<cri.RemovePodSandboxRequest, cri.RemovePodSandboxResponse>
  /** NotFound when the sandbox does not exist. */
  podSandboxStatus: Call<cri.PodSandboxStatusRequest, cri.PodSandboxStatusResponse>
  /** Filters: id, state, labelSelector (every pair must match). */
  listPodSandbox: Call<cri.ListPodSandboxRequest, cri.ListPodSandboxResponse>

  /** In a ready sandbox; the image must be present (pulled). */
  createContainer: Call<cri.CreateContainerRequest, cri.CreateContainerResponse>
  /** Only from CONTAINER_CREATED. */
  startContainer: Call<cri.StartContainerRequest, cri.StartContainerResponse>
  /**
   * Sends the stop signal, waits up to `timeout` seconds, then kills. Resolves when the container
   * has exited; idempotent for a container already exited.
   */
  stopContainer: Call<cri.StopContainerRequest, cri.StopContainerResponse>
  /** Forcibly; idempotent (no error when already gone). */
  removeContainer: Call<cri.RemoveContainerRequest, cri.RemoveContainerResponse>
  /** Filters: id, state, podSandboxId, labelSelector. */
  listContainers: Call<cri.ListContainersRequest, cri.ListContainersResponse>
  /** NotFound when the container does not exist. */
  containerStatus: Call<cri.ContainerStatusRequest, cri.ContainerStatusResponse>
  updateContainerResources: Call<cri.UpdateContainerResourcesRequest, cri.UpdateContainerResourcesResponse>
  /** Asks the runtime to reopen the container's log file after rotation. */
  reopenContainerLog: Call<cri.ReopenContainerLogRequest, cri.ReopenContainerLogResponse>

  /** Runs a command in a running container and waits for it (exec probes); timeout in seconds, 0 for none. */
  execSync: Call<cri.ExecSyncRequest, cri.ExecSyncResponse>
  /** The URL of the runtime's streaming server where this exec session can be opened. */
  exec: Call<cri.ExecRequest, cri.ExecResponse>
  attach: Call<cri.AttachRequest, cri.AttachResponse>
  portForward: Call<cri.PortForwardRequest, cri.PortForwardResponse>

  /** NotFound when the container does not exist. */
  containerStats: Call<cri.ContainerStatsRequest, cri.ContainerStatsResponse>
  /**
   * Stats of the containers that match the filter. containerd lists every one (CRI's comment says the
   * running ones), with cpu and memory only for running containers: expect them to be missing.
   */
  listContainerStats: Call<cri.ListContainerStatsRequest, cri.ListContainerStatsResponse>
  podSandboxStats: Call<cri.PodSandboxStatsRequest, cri.PodSandboxStatsResponse>
  listPodSandboxStats: Call<cri.ListPodSandboxStatsRequest, cri.ListPodSandboxStatsResponse>
}

/** CRI's ImageService. */
export interface ImageService {
  /** filter.image.image narrows to one image. */
  listImages: Call<cri.ListImagesRequest, cri.ListImagesResponse>
  /** `image` is missing from the reply when the image is not present (not an error). */
  imageStatus: Call<cri.ImageStatusRequest, cri.ImageStatusResponse>
  /** Resolves with imageRef, the image id the containers will report as imageId. */
  pullImage: Call<cri.PullImageRequest, cri.PullImageResponse>
  /** Idempotent (no error when already gone). */
  removeImage: Call<cri.RemoveImageRequest, cri.RemoveImageResponse>
  imageFsInfo: Call<cri.ImageFsInfoRequest, cri.ImageFsInfoResponse>
}

/** What a kubelet needs from a node's runtime: both services (one socket for containerd). */
export type ContainerRuntime = RuntimeService & ImageService

/** The runtime conditions of StatusResponse, by the names CRI defines. */
export const runtimeReady = 'RuntimeReady'
export const networkReady = 'NetworkReady'
