/**
 * Errors from a container runtime, as CRI reports them: a gRPC status code and a description.
 * A CRI client turns each failed call into a CriError with the code it received; the fake runtime
 * throws the codes containerd would. The kubelet decides on `code`, never on the text.
 */

/** gRPC status codes by their canonical names (google.golang.org/grpc/codes), with their numbers. */
export const grpcStatusCodes = {
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const

export type CriErrorCode = keyof typeof grpcStatusCodes

export class CriError extends Error {
  override readonly name = 'CriError'
  readonly code: CriErrorCode
  /** What the runtime said, without the "rpc error" prefix. */
  readonly description: string

  /**
   * The message reads as Go's status errors print (`rpc error: code = NotFound desc = ...`),
   * because that is the text the kubelet puts into events and container state messages.
   */
  constructor(code: CriErrorCode, description: string, options?: { cause?: unknown }) {
    super(`rpc error: code = ${code} desc = ${description}`, options)
    this.code = code
    this.description = description
  }

  get grpcCode(): number {
    return grpcStatusCodes[this.code]
  }
}

export function isCriError(err: unknown, code?: CriErrorCode): err is CriError {
  return err instanceof CriError && (code === undefined || err.code === code)
}

/** The code of a gRPC status number; unknown numbers are Unknown, as grpc-go treats them. */
export function criErrorCodeOf(grpcCode: number): CriErrorCode {
  for (const [name, n] of Object.entries(grpcStatusCodes)) if (n === grpcCode) return name as CriErrorCode
  return 'Unknown'
}
