/**
 * The ProbeNetwork of a kubelet on a real runtime: node:http / node:https for httpGet (no
 * keep-alive, certificates not verified, as upstream's probe transport), node:net for tcpSocket,
 * and @grpc/grpc-js for grpc.health.v1.Health/Check over an insecure channel.
 *
 * Only for runtimes whose pod IPs are real addresses of this node: the fake runtime has its own
 * (FakeRuntime.network), see ./network.ts.
 */
import * as grpc from '@grpc/grpc-js'
import * as http from 'node:http'
import * as https from 'node:https'
import * as net from 'node:net'
import { decodeHealthCheckResponse, encodeHealthCheckRequest, healthCheckPath } from './grpc-health.ts'
import {
  joinHostPort,
  maxBodyBytes,
  type DialRequest,
  type GrpcHealthResult,
  type HttpRequest,
  type HttpResponse,
  type ProbeNetwork,
} from './network.ts'

export const realProbeNetwork: ProbeNetwork = {
  httpGet,
  dialTcp,
  grpcHealthCheck,
}

function httpGet(r: HttpRequest): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string[]> = {}
    for (const [name, values] of r.headers) headers[name] = [...values]
    const options: https.RequestOptions = {
      method: 'GET',
      host: r.host,
      port: r.port,
      path: r.path,
      headers,
      agent: false,
      ...(r.scheme === 'https' ? { rejectUnauthorized: false } : {}),
    }
    const timer = setTimeout(() => {
      req.destroy(new Error('context deadline exceeded (Client.Timeout exceeded while awaiting headers)'))
    }, r.timeoutMs)
    const done = (fn: () => void) => {
      clearTimeout(timer)
      fn()
    }
    const req = (r.scheme === 'https' ? https : http).request(options, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      const finish = () =>
        done(() =>
          resolve({
            statusCode: res.statusCode ?? 0,
            location: res.headers.location,
            body: Buffer.concat(chunks).subarray(0, maxBodyBytes).toString(),
          }),
        )
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk)
        size += chunk.length
        // Enough read: the rest of the body is not the probe's business (a truncation, not an error).
        if (size >= maxBodyBytes) {
          res.destroy()
          finish()
        }
      })
      res.on('end', finish)
      res.on('error', (err) => done(() => reject(err)))
    })
    req.on('error', (err) => done(() => reject(new Error(goNetError(err, r), { cause: err }))))
    req.end()
  })
}

function dialTcp(r: DialRequest): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: r.host, port: r.port })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`dial tcp ${joinHostPort(r.host, r.port)}: i/o timeout`))
    }, r.timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.destroy()
      resolve()
    })
    socket.once('error', (err) => {
      clearTimeout(timer)
      reject(new Error(goNetError(err, r), { cause: err }))
    })
  })
}

async function grpcHealthCheck(
  r: DialRequest & { service: string; userAgent: string },
): Promise<GrpcHealthResult> {
  const client = new grpc.Client(joinHostPort(r.host, r.port), grpc.credentials.createInsecure(), {
    'grpc.primary_user_agent': r.userAgent,
  })
  try {
    const deadline = Date.now() + r.timeoutMs
    const connectError = await new Promise<Error | undefined>((resolve) =>
      client.waitForReady(deadline, resolve),
    )
    if (connectError !== undefined) {
      return { kind: 'connectFailed', timedOut: true, message: 'context deadline exceeded' }
    }
    return await new Promise<GrpcHealthResult>((resolve) => {
      client.makeUnaryRequest(
        healthCheckPath,
        (service: string) => encodeHealthCheckRequest(service),
        (bytes: Buffer) => decodeHealthCheckResponse(bytes),
        r.service,
        { deadline },
        (err, status) => {
          if (err) {
            const code = grpc.status[err.code] as string | undefined
            resolve({ kind: 'callFailed', code: code ?? String(err.code), message: err.details })
          } else resolve({ kind: 'status', status: status ?? 'UNKNOWN' })
        },
      )
    })
  } finally {
    client.close()
  }
}

/** Node's socket errors in Go's net wording, which is what probes report. */
function goNetError(err: NodeJS.ErrnoException, r: DialRequest): string {
  const addr = joinHostPort(r.host, r.port)
  switch (err.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${addr}: connect: connection refused`
    case 'EHOSTUNREACH':
      return `dial tcp ${addr}: connect: no route to host`
    case 'ENETUNREACH':
      return `dial tcp ${addr}: connect: network is unreachable`
    case 'ECONNRESET':
      return `read tcp ${addr}: read: connection reset by peer`
    case 'ENOTFOUND':
      return `dial tcp: lookup ${r.host}: no such host`
    default:
      return err.message
  }
}
