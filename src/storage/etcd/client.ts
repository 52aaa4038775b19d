import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { readFileSync } from 'node:fs'
import * as grpc from '@grpc/grpc-js'
import { StorageError } from '../interface.ts'
import { rpc, type Method } from './rpc.ts'

/**
 * A thin etcd v3 gRPC client: one channel over the given endpoints (grpc-js fails over between
 * them), unary calls with a deadline, and watch streams. It knows nothing of the Storage
 * semantics built on it (etcd.ts) and is what the benchmark uses as the "plain etcd client" floor.
 *
 * Retry policy. Calls wait for a connection (gRPC wait-for-ready) up to their deadline, which is
 * the bounded retry while etcd is unreachable or restarting; past it they fail with
 * 'Unavailable'. A read whose connection drops mid-call is sent again within the same deadline. A
 * write is not: it may have been applied, and only the caller can find out.
 */
export interface EtcdClientOptions {
  /** host:port of each member. */
  endpoints: string[]
  /** Deadline for each call, including waiting for a connection (default 5 s). */
  requestTimeoutMs?: number
  tls?: { caFile?: string; certFile?: string; keyFile?: string }
}

export class EtcdClient {
  readonly endpoints: readonly string[]
  readonly #client: grpc.Client
  readonly #timeoutMs: number

  static async connect(options: EtcdClientOptions): Promise<EtcdClient> {
    if (options.endpoints.length === 0) throw new StorageError('InvalidArgument', 'etcd: no endpoints given')
    const target = await resolveTarget(options.endpoints)
    return new EtcdClient(options, target)
  }

  private constructor(options: EtcdClientOptions, target: string) {
    this.endpoints = options.endpoints
    this.#timeoutMs = options.requestTimeoutMs ?? 5000
    const credentials = options.tls
      ? grpc.credentials.createSsl(
          options.tls.caFile ? readFileSync(options.tls.caFile) : null,
          options.tls.keyFile ? readFileSync(options.tls.keyFile) : null,
          options.tls.certFile ? readFileSync(options.tls.certFile) : null,
        )
      : grpc.credentials.createInsecure()
    this.#client = new grpc.Client(target, credentials, {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
      // Come back quickly when a member restarts (the defaults back off up to two minutes).
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2000,
      // Notice a dead connection; etcd refuses pings more often than every 5 s.
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
    })
  }

  close(): void {
    this.#client.close()
  }

  /** A read: retried when the connection drops, within one deadline. */
  read<Req, Res>(m: Method<Req, Res>, req: Req): Promise<Res> {
    return this.#unary(m, req, true)
  }

  /** A write: sent once; its outcome is unknown if the connection drops. */
  write<Req, Res>(m: Method<Req, Res>, req: Req): Promise<Res> {
    return this.#unary(m, req, false)
  }

  async #unary<Req, Res>(m: Method<Req, Res>, req: Req, retry: boolean): Promise<Res> {
    const deadline = Date.now() + this.#timeoutMs
    for (;;) {
      try {
        return await new Promise<Res>((resolve, reject) => {
          this.#client.makeUnaryRequest(
            m.path,
            m.serialize,
            m.deserialize,
            req,
            new grpc.Metadata({ waitForReady: true }),
            { deadline },
            (err, res) =>
              err || res === undefined ? reject(err ?? new Error('empty response')) : resolve(res),
          )
        })
      } catch (err) {
        const e = err as grpc.ServiceError
        if (retry && e.code === grpc.status.UNAVAILABLE && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100))
          continue
        }
        throw this.translate(err)
      }
    }
  }

  /** A watch stream (one watcher per stream keeps responses unambiguous). */
  watchStream(): grpc.ClientDuplexStream<
    Parameters<typeof rpc.watch.serialize>[0],
    ReturnType<typeof rpc.watch.deserialize>
  > {
    return this.#client.makeBidiStreamRequest(rpc.watch.path, rpc.watch.serialize, rpc.watch.deserialize)
  }

  /**
   * etcd's errors as StorageErrors. etcd reports compaction and future revisions with the same
   * gRPC code (OUT_OF_RANGE), so its message is the only way to tell them apart.
   */
  translate(err: unknown): StorageError {
    if (err instanceof StorageError) return err
    const e = err as Partial<grpc.ServiceError>
    const detail = e.details ?? (err instanceof Error ? err.message : String(err))
    const where = `etcd ${this.endpoints.join(',')}`
    switch (e.code) {
      case grpc.status.OUT_OF_RANGE:
        if (detail.includes('compacted'))
          return new StorageError('Compacted', `${where}: ${detail}`, { cause: err })
        return new StorageError('InvalidArgument', `${where}: ${detail}`, { cause: err })
      case grpc.status.INVALID_ARGUMENT:
        return new StorageError('InvalidArgument', `${where}: ${detail}`, { cause: err })
      case grpc.status.DEADLINE_EXCEEDED:
        return new StorageError(
          'Unavailable',
          `${where}: no answer within ${this.#timeoutMs} ms (${detail})`,
          {
            cause: err,
          },
        )
      default:
        return new StorageError('Unavailable', `${where}: ${detail}`, { cause: err })
    }
  }
}

/** Every endpoint resolved to an address, in one target string so that grpc-js fails over between them. */
async function resolveTarget(endpoints: string[]): Promise<string> {
  const addrs: string[] = []
  for (const ep of endpoints) {
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(ep)
    if (!m) throw new StorageError('InvalidArgument', `etcd endpoint ${JSON.stringify(ep)} is not host:port`)
    const host = m[1] ?? m[2] ?? ''
    const port = m[3] ?? ''
    let ip = host
    if (isIP(host) === 0) {
      try {
        ip = (await lookup(host)).address
      } catch (err) {
        throw new StorageError('Unavailable', `etcd endpoint ${ep}: cannot resolve ${host}`, { cause: err })
      }
    }
    addrs.push(isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`)
  }
  const family = addrs.every((a) => a.startsWith('[')) ? 'ipv6' : 'ipv4'
  if (family === 'ipv4' && addrs.some((a) => a.startsWith('['))) {
    throw new StorageError('InvalidArgument', 'etcd endpoints mix IPv4 and IPv6 addresses')
  }
  return `${family}:${addrs.join(',')}`
}
