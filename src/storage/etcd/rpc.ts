import protobuf from 'protobufjs'

/**
 * The part of etcd's v3 gRPC API (package etcdserverpb, and mvccpb for keys and events) that the
 * store uses, as a protobufjs descriptor: message names, field numbers and types match etcd's
 * api/etcdserverpb/rpc.proto and api/mvccpb/kv.proto. Fields we never send or read are left out;
 * protobuf skips unknown fields, so newer servers answer fine.
 */
const descriptor = {
  nested: {
    ResponseHeader: {
      fields: {
        clusterId: { type: 'uint64', id: 1 },
        memberId: { type: 'uint64', id: 2 },
        revision: { type: 'int64', id: 3 },
        raftTerm: { type: 'uint64', id: 4 },
      },
    },
    KeyValue: {
      fields: {
        key: { type: 'bytes', id: 1 },
        createRevision: { type: 'int64', id: 2 },
        modRevision: { type: 'int64', id: 3 },
        version: { type: 'int64', id: 4 },
        value: { type: 'bytes', id: 5 },
        lease: { type: 'int64', id: 6 },
      },
    },
    Event: {
      fields: {
        type: { type: 'int32', id: 1 }, // 0 PUT, 1 DELETE
        kv: { type: 'KeyValue', id: 2 },
        prevKv: { type: 'KeyValue', id: 3 },
      },
    },
    RangeRequest: {
      fields: {
        key: { type: 'bytes', id: 1 },
        rangeEnd: { type: 'bytes', id: 2 },
        limit: { type: 'int64', id: 3 },
        revision: { type: 'int64', id: 4 },
        serializable: { type: 'bool', id: 7 },
        keysOnly: { type: 'bool', id: 8 },
        countOnly: { type: 'bool', id: 9 },
      },
    },
    RangeResponse: {
      fields: {
        header: { type: 'ResponseHeader', id: 1 },
        kvs: { rule: 'repeated', type: 'KeyValue', id: 2 },
        more: { type: 'bool', id: 3 },
        count: { type: 'int64', id: 4 },
      },
    },
    PutRequest: {
      fields: {
        key: { type: 'bytes', id: 1 },
        value: { type: 'bytes', id: 2 },
        lease: { type: 'int64', id: 3 },
        prevKv: { type: 'bool', id: 4 },
      },
    },
    PutResponse: {
      fields: {
        header: { type: 'ResponseHeader', id: 1 },
        prevKv: { type: 'KeyValue', id: 2 },
      },
    },
    DeleteRangeRequest: {
      fields: {
        key: { type: 'bytes', id: 1 },
        rangeEnd: { type: 'bytes', id: 2 },
        prevKv: { type: 'bool', id: 3 },
      },
    },
    DeleteRangeResponse: {
      fields: {
        header: { type: 'ResponseHeader', id: 1 },
        deleted: { type: 'int64', id: 2 },
        prevKvs: { rule: 'repeated', type: 'KeyValue', id: 3 },
      },
    },
    RequestOp: {
      oneofs: { request: { oneof: ['requestRange', 'requestPut', 'requestDeleteRange'] } },
      fields: {
        requestRange: { type: 'RangeRequest', id: 1 },
        requestPut: { type: 'PutRequest', id: 2 },
        requestDeleteRange: { type: 'DeleteRangeRequest', id: 3 },
      },
    },
    ResponseOp: {
      oneofs: { response: { oneof: ['responseRange', 'responsePut', 'responseDeleteRange'] } },
      fields: {
        responseRange: { type: 'RangeResponse', id: 1 },
        responsePut: { type: 'PutResponse', id: 2 },
        responseDeleteRange: { type: 'DeleteRangeResponse', id: 3 },
      },
    },
    Compare: {
      oneofs: { targetUnion: { oneof: ['version', 'createRevision', 'modRevision', 'value', 'lease'] } },
      fields: {
        result: { type: 'int32', id: 1 }, // 0 EQUAL, 1 GREATER, 2 LESS, 3 NOT_EQUAL
        target: { type: 'int32', id: 2 }, // 0 VERSION, 1 CREATE, 2 MOD, 3 VALUE, 4 LEASE
        key: { type: 'bytes', id: 3 },
        version: { type: 'int64', id: 4 },
        createRevision: { type: 'int64', id: 5 },
        modRevision: { type: 'int64', id: 6 },
        value: { type: 'bytes', id: 7 },
        lease: { type: 'int64', id: 8 },
        rangeEnd: { type: 'bytes', id: 64 },
      },
    },
    TxnRequest: {
      fields: {
        compare: { rule: 'repeated', type: 'Compare', id: 1 },
        success: { rule: 'repeated', type: 'RequestOp', id: 2 },
        failure: { rule: 'repeated', type: 'RequestOp', id: 3 },
      },
    },
    TxnResponse: {
      fields: {
        header: { type: 'ResponseHeader', id: 1 },
        succeeded: { type: 'bool', id: 2 },
        responses: { rule: 'repeated', type: 'ResponseOp', id: 3 },
      },
    },
    CompactionRequest: {
      fields: {
        revision: { type: 'int64', id: 1 },
        physical: { type: 'bool', id: 2 },
      },
    },
    CompactionResponse: {
      fields: { header: { type: 'ResponseHeader', id: 1 } },
    },
    WatchRequest: {
      oneofs: { requestUnion: { oneof: ['createRequest', 'cancelRequest', 'progressRequest'] } },
      fields: {
        createRequest: { type: 'WatchCreateRequest', id: 1 },
        cancelRequest: { type: 'WatchCancelRequest', id: 2 },
        progressRequest: { type: 'WatchProgressRequest', id: 3 },
      },
    },
    WatchCreateRequest: {
      fields: {
        key: { type: 'bytes', id: 1 },
        rangeEnd: { type: 'bytes', id: 2 },
        startRevision: { type: 'int64', id: 3 },
        progressNotify: { type: 'bool', id: 4 },
        prevKv: { type: 'bool', id: 6 },
        watchId: { type: 'int64', id: 7 },
      },
    },
    WatchCancelRequest: {
      fields: { watchId: { type: 'int64', id: 1 } },
    },
    WatchProgressRequest: { fields: {} },
    WatchResponse: {
      fields: {
        header: { type: 'ResponseHeader', id: 1 },
        watchId: { type: 'int64', id: 2 },
        created: { type: 'bool', id: 3 },
        canceled: { type: 'bool', id: 4 },
        compactRevision: { type: 'int64', id: 5 },
        cancelReason: { type: 'string', id: 6 },
        fragment: { type: 'bool', id: 7 },
        events: { rule: 'repeated', type: 'Event', id: 11 },
      },
    },
    LeaseGrantRequest: {
      fields: {
        TTL: { type: 'int64', id: 1 },
        ID: { type: 'int64', id: 2 },
      },
    },
    LeaseGrantResponse: {
      fields: {
        header: { type: 'ResponseHeader', id: 1 },
        ID: { type: 'int64', id: 2 },
        TTL: { type: 'int64', id: 3 },
        error: { type: 'string', id: 4 },
      },
    },
    StatusRequest: { fields: {} },
    StatusResponse: {
      fields: {
        header: { type: 'ResponseHeader', id: 1 },
        version: { type: 'string', id: 2 },
        dbSize: { type: 'int64', id: 3 },
        leader: { type: 'uint64', id: 4 },
        raftIndex: { type: 'uint64', id: 5 },
        raftTerm: { type: 'uint64', id: 6 },
      },
    },
  },
}

const root = protobuf.Root.fromJSON(descriptor)

function type(name: string): protobuf.Type {
  return root.lookupType(name)
}

/** int64 fields decode as numbers when small and as Long objects when not; both become numbers here. */
export type Int64 = number | { toNumber(): number } | null | undefined

export function int64(v: Int64): number {
  if (v === null || v === undefined) return 0
  return typeof v === 'number' ? v : v.toNumber()
}

export interface KeyValueMsg {
  key: Uint8Array
  createRevision: Int64
  modRevision: Int64
  version: Int64
  value: Uint8Array
  lease: Int64
}
export interface HeaderMsg {
  revision: Int64
}
export interface RangeRequest {
  key: Uint8Array
  rangeEnd?: Uint8Array
  limit?: number
  revision?: number
  countOnly?: boolean
  keysOnly?: boolean
  serializable?: boolean
}
export interface RangeResponse {
  header: HeaderMsg
  kvs: KeyValueMsg[]
  more: boolean
  count: Int64
}
export interface PutRequest {
  key: Uint8Array
  value: Uint8Array
  lease?: Int64
  prevKv?: boolean
}
export interface PutResponse {
  header: HeaderMsg
  prevKv?: KeyValueMsg | null
}
export interface DeleteRangeRequest {
  key: Uint8Array
  rangeEnd?: Uint8Array
  prevKv?: boolean
}
export interface DeleteRangeResponse {
  header: HeaderMsg
  deleted: Int64
  prevKvs: KeyValueMsg[]
}
export interface Compare {
  result: CompareResult
  target: CompareTarget
  key: Uint8Array
  modRevision?: number
  version?: number
}
export const CompareResult = { Equal: 0, Greater: 1, Less: 2, NotEqual: 3 } as const
export type CompareResult = (typeof CompareResult)[keyof typeof CompareResult]
export const CompareTarget = { Version: 0, Create: 1, Mod: 2, Value: 3, Lease: 4 } as const
export type CompareTarget = (typeof CompareTarget)[keyof typeof CompareTarget]
export interface RequestOp {
  requestRange?: RangeRequest
  requestPut?: PutRequest
  requestDeleteRange?: DeleteRangeRequest
}
export interface ResponseOp {
  responseRange?: RangeResponse | null
  responsePut?: PutResponse | null
  responseDeleteRange?: DeleteRangeResponse | null
}
export interface TxnRequest {
  compare: Compare[]
  success: RequestOp[]
  failure: RequestOp[]
}
export interface TxnResponse {
  header: HeaderMsg
  succeeded: boolean
  responses: ResponseOp[]
}
export interface CompactionRequest {
  revision: number
  physical?: boolean
}
export interface WatchRequest {
  createRequest?: {
    key: Uint8Array
    rangeEnd?: Uint8Array
    startRevision?: number
    progressNotify?: boolean
    prevKv?: boolean
  }
  cancelRequest?: { watchId: Int64 }
  progressRequest?: Record<string, never>
}
export interface EventMsg {
  type: number
  kv: KeyValueMsg | null
  prevKv: KeyValueMsg | null
}
export interface WatchResponse {
  header: HeaderMsg | null
  watchId: Int64
  created: boolean
  canceled: boolean
  compactRevision: Int64
  cancelReason: string
  events: EventMsg[]
}
export interface LeaseGrantRequest {
  TTL: number
  ID?: number
}
export interface LeaseGrantResponse {
  header: HeaderMsg
  ID: Int64
  TTL: Int64
  error: string
}
export interface StatusResponse {
  header: HeaderMsg
  version: string
  dbSize: Int64
}

/** A gRPC method: its path and how to turn messages into bytes and back. */
export interface Method<Req, Res> {
  path: string
  serialize: (req: Req) => Buffer
  deserialize: (bytes: Buffer) => Res
}

function method<Req, Res>(service: string, name: string, req: string, res: string): Method<Req, Res> {
  const reqType = type(req)
  const resType = type(res)
  return {
    path: `/etcdserverpb.${service}/${name}`,
    serialize: (m) => Buffer.from(reqType.encode(m as unknown as protobuf.Message).finish()),
    deserialize: (b) => resType.decode(b) as unknown as Res,
  }
}

export const rpc = {
  range: method<RangeRequest, RangeResponse>('KV', 'Range', 'RangeRequest', 'RangeResponse'),
  put: method<PutRequest, PutResponse>('KV', 'Put', 'PutRequest', 'PutResponse'),
  deleteRange: method<DeleteRangeRequest, DeleteRangeResponse>(
    'KV',
    'DeleteRange',
    'DeleteRangeRequest',
    'DeleteRangeResponse',
  ),
  txn: method<TxnRequest, TxnResponse>('KV', 'Txn', 'TxnRequest', 'TxnResponse'),
  compact: method<CompactionRequest, unknown>('KV', 'Compact', 'CompactionRequest', 'CompactionResponse'),
  watch: method<WatchRequest, WatchResponse>('Watch', 'Watch', 'WatchRequest', 'WatchResponse'),
  leaseGrant: method<LeaseGrantRequest, LeaseGrantResponse>(
    'Lease',
    'LeaseGrant',
    'LeaseGrantRequest',
    'LeaseGrantResponse',
  ),
  status: method<Record<string, never>, StatusResponse>(
    'Maintenance',
    'Status',
    'StatusRequest',
    'StatusResponse',
  ),
}
