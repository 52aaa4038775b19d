import { isAbsolute, resolve } from 'node:path'
import { StorageError, type Storage } from './interface.ts'

/**
 * Where the store lives, chosen by one URL as in k3s' --datastore-endpoint:
 * - `sqlite://<path>` (relative paths are taken from the data directory), `sqlite://:memory:`;
 * - `etcd://host:port[,host:port...]` for an etcd v3 cluster (`etcds://` with TLS files).
 */
export type Datastore =
  | { backend: 'sqlite'; path: string }
  | { backend: 'etcd'; endpoints: string[]; tls?: { caFile?: string; certFile?: string; keyFile?: string } }

export interface DatastoreTls {
  caFile?: string
  certFile?: string
  keyFile?: string
}

/** Parses a --datastore URL; throws 'InvalidArgument' with a message fit for the command line. */
export function parseDatastore(url: string, options: { dataDir: string; tls?: DatastoreTls }): Datastore {
  const m = /^([a-z]+):\/\/(.*)$/.exec(url)
  if (!m) throw invalid(url, 'expected sqlite://<path> or etcd://host:port[,host:port...]')
  const [, scheme, rest = ''] = m
  switch (scheme) {
    case 'sqlite': {
      if (rest === '') throw invalid(url, 'sqlite:// needs a file path')
      if (rest === ':memory:') return { backend: 'sqlite', path: rest }
      return { backend: 'sqlite', path: isAbsolute(rest) ? rest : resolve(options.dataDir, rest) }
    }
    case 'etcd':
    case 'etcds': {
      const endpoints = rest
        .replace(/\/+$/, '')
        .split(',')
        .filter((e) => e !== '')
      if (endpoints.length === 0) throw invalid(url, 'etcd:// needs at least one host:port')
      for (const ep of endpoints) {
        if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(ep))
          throw invalid(url, `${ep} is not host:port`)
      }
      if (scheme === 'etcds') return { backend: 'etcd', endpoints, tls: options.tls ?? {} }
      return { backend: 'etcd', endpoints }
    }
    default:
      throw invalid(url, `unknown scheme ${scheme}:// (expected sqlite:// or etcd://)`)
  }
}

function invalid(url: string, why: string): StorageError {
  return new StorageError('InvalidArgument', `invalid datastore ${JSON.stringify(url)}: ${why}`)
}

/** Opens the store a Datastore names. The etcd client is loaded only when it is used. */
export async function openStorage(ds: Datastore): Promise<Storage> {
  switch (ds.backend) {
    case 'sqlite': {
      const { SqliteStorage } = await import('./sqlite/sqlite.ts')
      return SqliteStorage.open({ path: ds.path })
    }
    case 'etcd': {
      const { EtcdStorage } = await import('./etcd/etcd.ts')
      return EtcdStorage.open(ds.tls ? { endpoints: ds.endpoints, tls: ds.tls } : { endpoints: ds.endpoints })
    }
  }
}
