/**
 * The two messages of grpc.health.v1.Health/Check, encoded by hand (each has one field):
 *   HealthCheckRequest  { string service = 1; }
 *   HealthCheckResponse { ServingStatus status = 1; }  UNKNOWN 0, SERVING 1, NOT_SERVING 2, SERVICE_UNKNOWN 3
 * Used by the real probe network and by tests that serve the health service on loopback.
 */
import type { ServingStatus } from './network.ts'

export const healthCheckPath = '/grpc.health.v1.Health/Check'

const statuses: readonly ServingStatus[] = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN']

export function encodeHealthCheckRequest(service: string): Buffer {
  if (service === '') return Buffer.alloc(0)
  const bytes = Buffer.from(service)
  return Buffer.concat([Buffer.from([0x0a]), varint(bytes.length), bytes])
}

export function decodeHealthCheckRequest(bytes: Buffer): string {
  let service = ''
  for (const f of fields(bytes)) if (f.number === 1 && f.bytes !== undefined) service = f.bytes.toString()
  return service
}

export function encodeHealthCheckResponse(status: ServingStatus): Buffer {
  const n = statuses.indexOf(status)
  return n === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x08]), varint(n)])
}

export function decodeHealthCheckResponse(bytes: Buffer): ServingStatus {
  let status: ServingStatus = 'UNKNOWN'
  for (const f of fields(bytes)) {
    if (f.number === 1 && f.varint !== undefined) status = statuses[f.varint] ?? 'UNKNOWN'
  }
  return status
}

function varint(n: number): Buffer {
  const out: number[] = []
  let v = n
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80)
    v = Math.floor(v / 128)
  }
  out.push(v)
  return Buffer.from(out)
}

/** The fields of a message: varints and length-delimited ones (others are skipped or end it). */
function* fields(bytes: Buffer): Generator<{ number: number; varint?: number; bytes?: Buffer }> {
  let i = 0
  const readVarint = () => {
    let result = 0
    let shift = 1
    for (;;) {
      const b = bytes[i++]
      if (b === undefined) throw new Error('truncated protobuf message')
      result += (b & 0x7f) * shift
      if ((b & 0x80) === 0) return result
      shift *= 128
    }
  }
  while (i < bytes.length) {
    const key = readVarint()
    const number = Math.floor(key / 8)
    switch (key & 7) {
      case 0:
        yield { number, varint: readVarint() }
        break
      case 2: {
        const length = readVarint()
        yield { number, bytes: bytes.subarray(i, i + length) }
        i += length
        break
      }
      case 1:
        i += 8
        break
      case 5:
        i += 4
        break
      default:
        throw new Error(`unsupported protobuf wire type ${key & 7}`)
    }
  }
}
