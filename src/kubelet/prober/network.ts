/**
 * The network seam of probes and lifecycle hooks: every connection the prober makes to a pod
 * (httpGet, tcpSocket, grpc) goes through a ProbeNetwork, never straight to a socket.
 *
 * Why a seam: on a real runtime the pod IP is a real address on this node and ./real-network.ts
 * dials it. On the fake runtime pod IPs are made up (10.88.0.0/16 by default); a socket opened to
 * one would send packets off the machine, to whoever owns that address. The fake runtime
 * therefore answers these connections itself from the containers it pretends to run
 * (FakeRuntime.network), and without any network given the prober fails such probes with
 * noNetwork's message instead of dialing.
 *
 * Contract for implementations:
 * - one call, one connection; nothing is kept open or reused between calls;
 * - a failure to connect or a timeout rejects with an Error whose message is what the probe
 *   reports (Go's net and net/http wording: `dial tcp 10.88.0.5:8080: connect: connection refused`);
 * - an HTTP answer of any status code resolves (status codes are the prober's business), and
 *   redirects are not followed (the prober follows them, by upstream's rules).
 */

export interface HttpRequest {
  scheme: 'http' | 'https'
  host: string
  port: number
  /** The path with its query, starting with '/'. */
  path: string
  /** Header names as given, each with its values in order. */
  headers: ReadonlyMap<string, readonly string[]>
  timeoutMs: number
}

export interface HttpResponse {
  statusCode: number
  /** The Location header, for redirects. */
  location: string | undefined
  /** The body, at most maxBodyBytes of it. */
  body: string
}

export interface DialRequest {
  host: string
  port: number
  timeoutMs: number
}

/** grpc.health.v1.HealthCheckResponse.ServingStatus by name. */
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN'

export type GrpcHealthResult =
  | { kind: 'status'; status: ServingStatus }
  /** The connection could not be made within the timeout, or was refused. */
  | { kind: 'connectFailed'; timedOut: boolean; message: string }
  /** The call failed with a gRPC status code (e.g. 'UNIMPLEMENTED', 'DEADLINE_EXCEEDED'). */
  | { kind: 'callFailed'; code: string; message: string }

export interface ProbeNetwork {
  /** One HTTP GET (no redirects followed). Rejects when no answer came within timeoutMs. */
  httpGet(request: HttpRequest): Promise<HttpResponse>
  /** Opens a TCP connection and closes it again; rejects when it could not be opened. */
  dialTcp(request: DialRequest): Promise<void>
  /** grpc.health.v1.Health/Check for `service` ('' for the server as a whole). */
  grpcHealthCheck(request: DialRequest & { service: string; userAgent: string }): Promise<GrpcHealthResult>
}

/** How much of a response body a probe reads (upstream's maxRespBodyLength, 10 KiB). */
export const maxBodyBytes = 10 * 1024

/** `host:port`, with IPv6 hosts in brackets (Go's net.JoinHostPort). */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/**
 * The network to use when none was given: every connection fails with a message that says why,
 * and nothing is dialed. Exec probes and hooks still work (they go through the runtime).
 */
export const noNetwork: ProbeNetwork = {
  httpGet: (r) => Promise.reject(notConfigured(r)),
  dialTcp: (r) => Promise.reject(notConfigured(r)),
  grpcHealthCheck: (r) =>
    Promise.resolve({ kind: 'connectFailed', timedOut: false, message: notConfigured(r).message }),
}

function notConfigured(r: DialRequest): Error {
  return new Error(
    `dial tcp ${joinHostPort(r.host, r.port)}: the kubelet has no probe network configured ` +
      `(PodWorkersOptions.network), so it does not connect to pods`,
  )
}
