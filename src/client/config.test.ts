import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { stringify } from 'yaml'
import { KubeconfigError, loadKubeconfig } from './config.ts'

const dir = mkdtempSync(join(tmpdir(), 'k8ts-kubeconfig-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const b64 = (s: string) => Buffer.from(s).toString('base64')

function write(name: string, cfg: unknown): string {
  const path = join(dir, name)
  writeFileSync(path, typeof cfg === 'string' ? cfg : stringify(cfg))
  return path
}

const base = {
  apiVersion: 'v1',
  kind: 'Config',
  clusters: [
    {
      name: 'one',
      cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': b64('CA ONE') },
    },
    { name: 'two', cluster: { server: 'https://10.0.0.2:6443', 'certificate-authority': 'ca-two.crt' } },
  ],
  users: [
    { name: 'admin', user: { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') } },
    { name: 'robot', user: { tokenFile: 'token' } },
  ],
  contexts: [
    { name: 'first', context: { cluster: 'one', user: 'admin' } },
    { name: 'second', context: { cluster: 'two', user: 'robot' } },
  ],
  'current-context': 'first',
}

test('the current context gives the server, the CA and the client certificate, inline', () => {
  assert.deepEqual(loadKubeconfig(write('inline', base)), {
    server: 'https://10.0.0.1:6443',
    ca: 'CA ONE',
    cert: 'CERT',
    key: 'KEY',
  })
})

test('another context reads files relative to the kubeconfig, and a token file', () => {
  writeFileSync(join(dir, 'ca-two.crt'), 'CA TWO')
  writeFileSync(join(dir, 'token'), 'secret-token\n')
  assert.deepEqual(loadKubeconfig(write('files', base), { context: 'second' }), {
    server: 'https://10.0.0.2:6443',
    ca: 'CA TWO',
    token: 'secret-token',
  })
})

test('what cannot be used is a KubeconfigError that says why', () => {
  const cases: [string, unknown, RegExp][] = [
    [
      'a context that is not there',
      { ...base, 'current-context': 'third' },
      /context "third" is not in kubeconfig/,
    ],
    ['no current context', { ...base, 'current-context': undefined }, /has no current context/],
    ['a cluster without a server', { ...base, clusters: [{ name: 'one', cluster: {} }] }, /has no server/],
    ['not YAML at all', '{{{', /cannot read kubeconfig/],
  ]
  for (const [name, cfg, message] of cases) {
    assert.throws(
      () => loadKubeconfig(write(name.replace(/ /g, '-'), cfg)),
      (err) => {
        assert.ok(err instanceof KubeconfigError, name)
        assert.match(err.message, message, name)
        return true
      },
    )
  }
  assert.throws(() => loadKubeconfig(join(dir, 'missing')), /cannot read kubeconfig/)
})
