import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { pino } from 'pino'
import type { Lease } from '../../src/api/generated/types/coordination-v1.ts'
import { builtin, loadKubeconfig, ResourceClient, RestClient } from '../../src/client/index.ts'
import { startControllerManager, type ControllerManager } from '../../src/controllers/index.ts'
import { startTestApiServer, type TestApiServer } from '../support/cluster.ts'

const bin = join(import.meta.dirname, '../../bin/k8ts.js')
let c: TestApiServer | undefined
let standby: ControllerManager | undefined
let rest: RestClient | undefined
after(async () => {
  await standby?.stop()
  await rest?.close()
  await c?.stop()
})

test('a killed controller-manager (no release) is replaced when its lease runs out, with upstream timing', async (t) => {
  c = await startTestApiServer()
  const kubeconfig = c.server.controllerManagerKubeconfig
  rest = new RestClient(loadKubeconfig(c.server.adminKubeconfig))
  const leases = new ResourceClient<Lease>(rest, builtin('coordination.k8s.io', 'v1', 'leases'))
  const holder = async () =>
    (await leases.get('kube-system', 'kube-controller-manager').catch(() => undefined))?.spec?.holderIdentity

  const child = spawn(
    process.execPath,
    // (--secure-port 0: two of them run at once, they cannot both serve 10257.)
    [
      bin,
      'controller-manager',
      '--kubeconfig',
      kubeconfig,
      '--use-service-account-credentials',
      '--secure-port',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  try {
    const deadline = Date.now() + 15_000
    let first: string | undefined
    while (!(first = await holder())) {
      assert.ok(Date.now() < deadline, `the child never took the lease: ${out}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    assert.match(first, /_[0-9a-f-]{36}$/, 'hostname_uuid, as kube-controller-manager names itself')

    // Upstream's defaults: 15 s lease, 10 s renew deadline, 2 s retry period.
    standby = startControllerManager({
      client: loadKubeconfig(kubeconfig),
      useServiceAccountCredentials: true,
      log: pino({ level: 'silent' }),
      identity: 'standby',
    })
    await new Promise((r) => setTimeout(r, 2500))
    assert.equal(await holder(), first, 'the standby waits while the leader renews')

    const killed = Date.now()
    child.kill('SIGKILL')
    while ((await holder()) !== 'standby') {
      assert.ok(
        Date.now() - killed < 20_000,
        'the standby took over within the lease duration and a retry or two',
      )
      await new Promise((r) => setTimeout(r, 200))
    }
    const handover = Date.now() - killed
    t.diagnostic(`handed over ${handover} ms after the kill`)
    assert.ok(handover >= 10_000, `not before the lease could have expired (${handover} ms)`)
    const lease = await leases.get('kube-system', 'kube-controller-manager')
    assert.equal(lease.spec?.leaseTransitions, 1)
    assert.equal(lease.spec?.leaseDurationSeconds, 15)
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
})
