import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseDatastore } from './datastore.ts'
import { isStorageError } from './interface.ts'

const dataDir = '/var/lib/k8ts'
const cases = [
  {
    name: 'a relative sqlite path lives in the data directory',
    url: 'sqlite://state.db',
    want: { backend: 'sqlite', path: '/var/lib/k8ts/state.db' },
  },
  {
    name: 'an absolute sqlite path is kept',
    url: 'sqlite:///srv/k8ts.db',
    want: { backend: 'sqlite', path: '/srv/k8ts.db' },
  },
  { name: 'sqlite in memory', url: 'sqlite://:memory:', want: { backend: 'sqlite', path: ':memory:' } },
  {
    name: 'one etcd member',
    url: 'etcd://127.0.0.1:2379',
    want: { backend: 'etcd', endpoints: ['127.0.0.1:2379'] },
  },
  {
    name: 'three etcd members, hostnames and IPv6',
    url: 'etcd://etcd-0:2379,[::1]:2379,10.0.0.3:2379',
    want: { backend: 'etcd', endpoints: ['etcd-0:2379', '[::1]:2379', '10.0.0.3:2379'] },
  },
]
for (const c of cases) test(c.name, () => assert.deepEqual(parseDatastore(c.url, { dataDir }), c.want))

const bad = [
  { name: 'no scheme', url: 'state.db', why: /expected sqlite:\/\/<path> or etcd:\/\// },
  { name: 'an unknown scheme', url: 'postgres://db', why: /unknown scheme postgres:\/\// },
  { name: 'sqlite without a path', url: 'sqlite://', why: /needs a file path/ },
  { name: 'etcd without endpoints', url: 'etcd://', why: /at least one host:port/ },
  { name: 'an etcd endpoint without a port', url: 'etcd://etcd-0', why: /etcd-0 is not host:port/ },
]
for (const c of bad) {
  test(`${c.name} is refused with a message naming the URL`, () =>
    assert.throws(
      () => parseDatastore(c.url, { dataDir }),
      (err) =>
        isStorageError(err, 'InvalidArgument') &&
        err.message.includes(JSON.stringify(c.url)) &&
        c.why.test(err.message),
    ))
}
