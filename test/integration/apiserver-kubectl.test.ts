import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import {
  kubectlMissing,
  startTestApiServer,
  type KubectlResult,
  type TestApiServer,
} from '../support/cluster.ts'

/**
 * The real kubectl 1.33 against the apiserver on a temporary SQLite store: each step asserts
 * kubectl's exit code and output. The steps build on each other, in order.
 */
describe('kubectl against the apiserver', { skip: kubectlMissing ?? false }, () => {
  let c: TestApiServer
  const files = mkdtempSync(join(tmpdir(), 'k8ts-manifests-'))
  const file = (name: string, content: string) => {
    const p = join(files, name)
    writeFileSync(p, content)
    return p
  }
  const ok = async (
    args: string[],
    o?: { stdin?: string; env?: Record<string, string> },
  ): Promise<string> => {
    const r = await c.kubectl(args, o)
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`)
    return r.stdout
  }
  const fails = async (args: string[], stdin?: string): Promise<KubectlResult> => {
    const r = await c.kubectl(args, stdin === undefined ? {} : { stdin })
    assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} should have failed: ${r.stdout}`)
    return r
  }

  before(async () => {
    c = await startTestApiServer()
  })
  after(async () => {
    await c.stop()
    rmSync(files, { recursive: true, force: true })
  })

  const deployment = (image: string, replicas = 2) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: ${image}
        ports: [{containerPort: 80}]
`

  test('version reports the server as Kubernetes v1.35', async () => {
    const out = await ok(['version'])
    assert.match(out, /Client Version: v1\.33\.\d+/)
    assert.match(out, /Server Version: v1\.35\.0/)
  })

  test('api-resources lists resources with short names, groups and scopes', async () => {
    const out = await ok(['api-resources'])
    assert.match(out, /^pods\s+po\s+v1\s+true\s+Pod$/m)
    assert.match(out, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m)
    assert.match(out, /^namespaces\s+ns\s+v1\s+false\s+Namespace$/m)
    assert.match(
      out,
      /^customresourcedefinitions\s+crd,crds\s+apiextensions\.k8s\.io\/v1\s+false\s+CustomResourceDefinition$/m,
    )
  })

  test('api-versions lists the served group-versions', async () => {
    const out = (await ok(['api-versions'])).split('\n')
    for (const gv of [
      'v1',
      'apps/v1',
      'batch/v1',
      'autoscaling/v2',
      'networking.k8s.io/v1',
      'rbac.authorization.k8s.io/v1',
      'policy/v1',
    ]) {
      assert.ok(out.includes(gv), `${gv} missing`)
    }
  })

  test('cluster-info names the control plane', async () => {
    assert.match(
      await ok(['cluster-info']),
      /Kubernetes control plane is running at https:\/\/127\.0\.0\.1:\d+/,
    )
  })

  test('the system namespaces exist from the start', async () => {
    const names = (await ok(['get', 'namespaces', '-o', 'name'])).trim().split('\n')
    assert.deepEqual(names, [
      'namespace/default',
      'namespace/kube-node-lease',
      'namespace/kube-public',
      'namespace/kube-system',
    ])
  })

  test('create -f makes an object, and again says it already exists', async () => {
    const cm = file('cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: "1"\n')
    assert.equal((await ok(['create', '-f', cm])).trim(), 'configmap/cfg created')
    const again = await fails(['create', '-f', cm])
    assert.match(
      again.stderr,
      /Error from server \(AlreadyExists\): error when creating ".*cm\.yaml": configmaps "cfg" already exists/,
    )
  })

  test('apply -f twice creates, then patches what changed', async () => {
    const f = file('deploy.yaml', deployment('nginx:1.25'))
    assert.equal((await ok(['apply', '-f', f])).trim(), 'deployment.apps/web created')
    assert.equal((await ok(['apply', '-f', f])).trim(), 'deployment.apps/web unchanged')
    writeFileSync(f, deployment('nginx:1.26'))
    assert.equal((await ok(['apply', '-f', f])).trim(), 'deployment.apps/web configured')
    const got = await ok([
      'get',
      'deploy',
      'web',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image} {.metadata.generation}',
    ])
    assert.equal(got, 'nginx:1.26 2')
  })

  test('apply --server-side conflicts with the client-side manager, and --force-conflicts takes over', async () => {
    const f = file('deploy-ssa.yaml', deployment('nginx:1.27'))
    const r = await fails(['apply', '--server-side', '-f', f])
    assert.match(
      r.stderr,
      /Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps\/v1: \.spec\.template\.spec\.containers\[name="web"\]\.image/,
    )
    assert.equal(
      (await ok(['apply', '--server-side', '--force-conflicts', '-f', f])).trim(),
      'deployment.apps/web serverside-applied',
    )
    const managers = await ok([
      'get',
      'deploy',
      'web',
      '-o',
      'jsonpath={.metadata.managedFields[*].manager}',
      '--show-managed-fields',
    ])
    // kubectl moves the client-side manager's fields over to its own (upgrading to server-side
    // apply); the last-applied annotation stays with kubectl-last-applied.
    assert.doesNotMatch(managers, /kubectl-client-side-apply/)
    assert.match(managers, /kubectl-last-applied/)
    assert.match(managers, /\bkubectl\b/)
    assert.equal(
      await ok(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']),
      'nginx:1.27',
    )
  })

  test('replace puts the whole object with its resourceVersion', async () => {
    const live = JSON.parse(await ok(['get', 'cm', 'cfg', '-o', 'json'])) as { data: Record<string, string> }
    live.data = { a: '2', b: '3' }
    const f = file('cm-replace.json', JSON.stringify(live))
    assert.equal((await ok(['replace', '-f', f])).trim(), 'configmap/cfg replaced')
    assert.equal(await ok(['get', 'cm', 'cfg', '-o', 'jsonpath={.data.b}']), '3')
  })

  test('a replace with a stale resourceVersion is a conflict', async () => {
    const f = join(files, 'cm-replace.json') // still carries the resourceVersion before the last replace
    const r = await fails(['replace', '-f', f])
    assert.match(
      r.stderr,
      /Error from server \(Conflict\): error when replacing ".*": Operation cannot be fulfilled on configmaps "cfg": the object has been modified; please apply your changes to the latest version and try again/,
    )
  })

  test('patch works with json, merge and strategic patches', async () => {
    assert.equal(
      (await ok(['patch', 'cm', 'cfg', '--type', 'merge', '-p', '{"data":{"c":"4"}}'])).trim(),
      'configmap/cfg patched',
    )
    await ok(['patch', 'cm', 'cfg', '--type', 'json', '-p', '[{"op":"remove","path":"/data/a"}]'])
    assert.equal(await ok(['get', 'cm', 'cfg', '-o', 'jsonpath={.data}']), '{"b":"3","c":"4"}')
    await ok([
      'patch',
      'deploy',
      'web',
      '--type',
      'strategic',
      '-p',
      '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox"}]}}}}',
    ])
    assert.equal(
      await ok(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.template.spec.containers[*].name}']),
      // A strategic merge puts the patch's items first, as the kubectl patch task page shows.
      'sidecar web',
    )
    const bad = await fails([
      'patch',
      'cm',
      'cfg',
      '--type',
      'json',
      '-p',
      '[{"op":"test","path":"/data/b","value":"nope"}]',
    ])
    assert.match(bad.stderr, /The request is invalid: testing value \/data\/b failed: test failed/)
  })

  test('label and annotate add and remove metadata', async () => {
    assert.equal((await ok(['label', 'cm', 'cfg', 'env=prod'])).trim(), 'configmap/cfg labeled')
    assert.equal((await ok(['annotate', 'cm', 'cfg', 'owner=team-a'])).trim(), 'configmap/cfg annotated')
    assert.equal(
      await ok(['get', 'cm', 'cfg', '-o', 'jsonpath={.metadata.labels.env} {.metadata.annotations.owner}']),
      'prod team-a',
    )
    await ok(['label', 'cm', 'cfg', 'env-'])
    assert.equal(await ok(['get', 'cm', 'cfg', '-o', 'jsonpath={.metadata.labels}']), '')
  })

  test('edit runs $EDITOR on the object and patches the result', async () => {
    const editor = file('editor.sh', '#!/bin/sh\nsed -i "s/c: \\"4\\"/c: \\"edited\\"/" "$1"\n')
    chmodSync(editor, 0o755)
    assert.equal(
      (await ok(['edit', 'cm', 'cfg'], { env: { EDITOR: editor, KUBE_EDITOR: editor } })).trim(),
      'configmap/cfg edited',
    )
    assert.equal(await ok(['get', 'cm', 'cfg', '-o', 'jsonpath={.data.c}']), 'edited')
  })

  test('get in its output forms: name, json, yaml, jsonpath, labels, selectors, all namespaces, chunks', async () => {
    for (let i = 0; i < 5; i++) {
      await ok(['create', 'configmap', `many-${i}`, '--from-literal', `k=${i}`, '-n', 'kube-public'], {})
    }
    await ok(['label', 'cm', '-n', 'kube-public', 'many-1', 'many-3', 'pick=yes'])
    assert.equal(
      (await ok(['get', 'cm', '-n', 'kube-public', '-l', 'pick=yes', '-o', 'name'])).trim(),
      'configmap/many-1\nconfigmap/many-3',
    )
    assert.equal(
      (
        await ok(['get', 'cm', '-n', 'kube-public', '--field-selector', 'metadata.name=many-2', '-o', 'name'])
      ).trim(),
      'configmap/many-2',
    )
    const chunked = (await ok(['get', 'cm', '-A', '--chunk-size=2', '-o', 'name'])).trim().split('\n')
    assert.ok(chunked.length >= 6, chunked.join(' '))
    const table = await ok(['get', 'cm', '-A', '--show-labels'])
    assert.match(table, /^NAMESPACE\s+NAME\s+/m)
    assert.match(table, /^kube-public\s+many-1\s+.*pick=yes/m)
    const y = await ok(['get', 'cm', 'cfg', '-o', 'yaml'])
    assert.match(y, /^kind: ConfigMap$/m)
    assert.match(y, /^ {2}resourceVersion: "\d+"$/m)
    const j = JSON.parse(await ok(['get', 'cm', '-n', 'kube-public', '-o', 'json'])) as {
      kind: string
      items: unknown[]
    }
    assert.equal(j.kind, 'List')
    assert.equal(j.items.length, 5)
    const wide = await ok(['get', 'deploy', 'web', '-o', 'wide'])
    assert.match(wide, /^web\s/m)
    const bad = await fails(['get', 'pods', '--field-selector', 'spec.nothing=x'])
    assert.match(bad.stderr, /field label not supported: spec\.nothing/)
  })

  test('explain prints the schema of a field', async () => {
    const out = await ok(['explain', 'pods.spec.containers'])
    assert.match(out, /^KIND:\s+Pod$/m)
    assert.match(out, /^FIELD: containers <\[\]Container>$/m)
    assert.match(out, /^DESCRIPTION:$/m)
  })

  test('scale changes the replicas through the scale subresource', async () => {
    assert.equal((await ok(['scale', 'deploy', 'web', '--replicas=5'])).trim(), 'deployment.apps/web scaled')
    assert.equal(await ok(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}']), '5')
    const stale = await fails(['scale', 'deploy', 'web', '--replicas=1', '--current-replicas=3'])
    assert.match(stale.stderr, /Expected replicas to be 3, was 5/)
  })

  test('--dry-run=server validates and answers without storing', async () => {
    const f = file('dry.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dry\n')
    assert.equal(
      (await ok(['create', '-f', f, '--dry-run=server'])).trim(),
      'configmap/dry created (server dry run)',
    )
    await fails(['get', 'cm', 'dry'])
    assert.equal(
      (await ok(['delete', 'cm', 'cfg', '--dry-run=server'])).trim(),
      'configmap "cfg" deleted (server dry run)',
    )
    await ok(['get', 'cm', 'cfg'])
  })

  test('a manifest with an unknown field is refused by strict validation', async () => {
    const f = file(
      'unknown.yaml',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: strict\n  bogusField: 1\n',
    )
    const r = await fails(['create', '-f', f])
    assert.match(r.stderr, /strict decoding error: unknown field "metadata\.bogusField"/)
  })

  test('an invalid name and an invalid spec are refused with the field causes', async () => {
    const bad = await fails(['create', 'configmap', 'Bad_Name'])
    assert.match(
      bad.stderr,
      /ConfigMap "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters/,
    )
    const f = file(
      'invalid-deploy.yaml',
      deployment('nginx')
        .replace('selector: {matchLabels: {app: web}}', 'selector: {matchLabels: {app: db}}')
        .replace('name: web\n  labels', 'name: mismatched\n  labels'),
    )
    const r = await fails(['create', '-f', f])
    assert.match(
      r.stderr,
      /The Deployment "mismatched" is invalid: spec\.template\.metadata\.labels: Invalid value: map\[string\]string\{"app":"web"\}: `selector` does not match template `labels`/,
    )
  })

  test('create generators send protobuf bodies and get their objects back', async () => {
    assert.equal(
      (await ok(['create', 'deployment', 'gen', '--image=nginx:1.27', '--replicas=2', '--port=80'])).trim(),
      'deployment.apps/gen created',
    )
    const d = JSON.parse(await ok(['get', 'deploy', 'gen', '-o', 'json'])) as {
      spec: {
        replicas: number
        selector: unknown
        template: { spec: { containers: { image: string; ports: unknown[] }[] } }
      }
    }
    assert.equal(d.spec.replicas, 2)
    assert.deepEqual(d.spec.selector, { matchLabels: { app: 'gen' } })
    assert.equal(d.spec.template.spec.containers[0]?.image, 'nginx:1.27')
    assert.equal(
      (await ok(['create', 'service', 'clusterip', 'gen', '--tcp=80:8080'])).trim(),
      'service/gen created',
    )
    const ip = await ok(['get', 'svc', 'gen', '-o', 'jsonpath={.spec.clusterIP}'])
    assert.match(ip, /^10\.(9[6-9]|1[01][0-9]|12[0-7])\.\d+\.\d+$/)
    assert.equal(
      (await ok(['create', 'secret', 'generic', 'gen', '--from-literal=password=s3cret'])).trim(),
      'secret/gen created',
    )
    assert.equal(
      await ok(['get', 'secret', 'gen', '-o', 'jsonpath={.data.password}']),
      Buffer.from('s3cret').toString('base64'),
    )
    assert.equal((await ok(['create', 'namespace', 'gen'])).trim(), 'namespace/gen created')
    assert.equal(
      (await ok(['create', 'job', 'gen', '--image=busybox', '--', 'true'])).trim(),
      'job.batch/gen created',
    )
    const job = JSON.parse(await ok(['get', 'job', 'gen', '-o', 'json'])) as {
      metadata: { uid: string }
      spec: {
        selector: { matchLabels: Record<string, string> }
        template: { metadata: { labels: Record<string, string> } }
      }
    }
    assert.equal(job.spec.selector.matchLabels['batch.kubernetes.io/controller-uid'], job.metadata.uid)
    assert.equal(job.spec.template.metadata.labels['job-name'], 'gen')
    assert.equal(
      (
        await ok(['create', 'cronjob', 'gen', '--image=busybox', '--schedule=*/5 * * * *', '--', 'true'])
      ).trim(),
      'cronjob.batch/gen created',
    )
    const bad = await fails(['create', 'cronjob', 'bad', '--image=busybox', '--schedule=every day'])
    assert.match(bad.stderr, /spec\.schedule: Invalid value: "every day"/)
  })

  test('one object, several versions: autoscaling v1 and v2, core and events.k8s.io events', async () => {
    assert.equal(
      (await ok(['autoscale', 'deployment', 'gen', '--min=2', '--max=5', '--cpu-percent=70'])).trim(),
      'horizontalpodautoscaler.autoscaling/gen autoscaled',
    )
    const v1 = JSON.parse(
      await ok(['get', 'horizontalpodautoscalers.v1.autoscaling', 'gen', '-o', 'json']),
    ) as {
      apiVersion: string
      spec: Record<string, unknown>
    }
    assert.equal(v1.apiVersion, 'autoscaling/v1')
    assert.equal(v1.spec.targetCPUUtilizationPercentage, 70)
    assert.equal(v1.spec.maxReplicas, 5)
    await ok([
      'patch',
      'horizontalpodautoscalers.v1.autoscaling',
      'gen',
      '--type=merge',
      '-p',
      '{"spec":{"targetCPUUtilizationPercentage":60}}',
    ])
    const v2 = await ok([
      'get',
      'horizontalpodautoscalers.v2.autoscaling',
      'gen',
      '-o',
      'jsonpath={.spec.metrics[0].resource.target.averageUtilization}',
    ])
    assert.equal(v2, '60')
    const ev = file(
      'event.yaml',
      `apiVersion: v1
kind: Event
metadata: {name: gen.1, namespace: default}
involvedObject: {kind: Deployment, name: gen, namespace: default, apiVersion: apps/v1}
reason: Tested
message: seen through both groups
type: Normal
count: 3
`,
    )
    await ok(['create', '-f', ev])
    const e = JSON.parse(await ok(['get', 'events.v1.events.k8s.io', 'gen.1', '-o', 'json'])) as Record<
      string,
      unknown
    >
    assert.equal(e.apiVersion, 'events.k8s.io/v1')
    assert.equal(e.note, 'seen through both groups')
    assert.equal(e.deprecatedCount, 3)
    assert.deepEqual(e.regarding, {
      kind: 'Deployment',
      name: 'gen',
      namespace: 'default',
      apiVersion: 'apps/v1',
    })
  })

  test('componentstatuses report the store and the components, and a Binding places a pod', async () => {
    const cs = JSON.parse(await ok(['get', 'componentstatuses', '-o', 'json'])) as {
      items: {
        metadata: { name: string }
        conditions: { type: string; status: string; message?: string; error?: string }[]
      }[]
    }
    const byName = new Map(cs.items.map((i) => [i.metadata.name, i.conditions[0]]))
    assert.deepEqual([...byName.keys()].sort(), ['controller-manager', 'etcd-0', 'scheduler'])
    assert.deepEqual(byName.get('etcd-0'), { type: 'Healthy', status: 'True', message: 'ok' })
    assert.equal(byName.get('scheduler')?.type, 'Healthy')
    const r = await c.kubectl(['get', 'cs', 'etcd-0'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /Warning: v1 ComponentStatus is deprecated in v1\.19\+/)
    assert.match(r.stdout, /^etcd-0\s/m)
    await ok(['run', 'placed', '--image=nginx', '--restart=Never'])
    const b = file(
      'binding.yaml',
      'apiVersion: v1\nkind: Binding\nmetadata: {name: placed}\ntarget: {apiVersion: v1, kind: Node, name: node-1}\n',
    )
    // The server answers a Binding with a Success Status, as kube-apiserver does.
    assert.match(await ok(['create', '-f', b]), / created$/m)
    const bogus = file(
      'bogus-binding.yaml',
      'apiVersion: v1\nkind: Binding\nmetadata: {name: placed}\ntarget: {name: n, bogus: 1}\n',
    )
    const refused = await fails(['create', '-f', bogus])
    assert.match(
      refused.stderr,
      /ValidationError\(Binding\.target\): unknown field "bogus" in io\.k8s\.api\.core\.v1\.ObjectReference/,
    )
    assert.equal(await ok(['get', 'pod', 'placed', '-o', 'jsonpath={.spec.nodeName}']), 'node-1')
  })

  test('tables print the columns of kube-apiserver, wide ones with -o wide, and stream with -w', async () => {
    const svc = await ok(['get', 'svc', 'kubernetes'])
    assert.match(svc, /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/m)
    assert.match(svc, /^kubernetes\s+ClusterIP\s+10\.\d+\.\d+\.\d+\s+<none>\s+443\/TCP\s+\d+s$/m)
    const deploy = await ok(['get', 'deploy', 'gen', '-o', 'wide'])
    assert.match(deploy, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$/m)
    assert.match(deploy, /^gen\s+0\/2\s+0\s+0\s+\d+s\s+nginx\s+nginx:1\.27\s+app=gen$/m)
    const pods = await ok(['get', 'pod', 'placed', '-o', 'wide'])
    assert.match(
      pods,
      /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/m,
    )
    assert.match(pods, /^placed\s+0\/1\s+Pending\s+0\s+\d+s\s+<none>\s+node-1\s+<none>\s+<none>$/m)
    const cs = await ok(['get', 'cs'])
    assert.match(cs, /^NAME\s+STATUS\s+MESSAGE\s+ERROR$/m)
    assert.match(cs, /^etcd-0\s+Healthy\s+ok\s*$/m)
    const ns = await ok(['get', 'ns', 'kube-system', '--show-labels'])
    assert.match(ns, /^NAME\s+STATUS\s+AGE\s+LABELS$/m)
    assert.match(ns, /^kube-system\s+Active\s+\d+s\s+kubernetes\.io\/metadata\.name=kube-system$/m)
    const watch = c.kubectl(['get', 'cm', '-w', '--request-timeout=3s', '-n', 'kube-public'])
    await new Promise((r) => setTimeout(r, 1000))
    await ok([
      'create',
      'configmap',
      'streamed',
      '-n',
      'kube-public',
      '--from-literal=a=1',
      '--from-literal=b=2',
    ])
    const w = await watch
    assert.match(w.stdout, /^NAME\s+DATA\s+AGE$/m)
    assert.match(w.stdout, /^streamed\s+2\s+\d+s$/m)
  })

  test('get -w streams changes as they happen', async () => {
    const watch = c.kubectl([
      'get',
      'cm',
      'cfg',
      '-w',
      '--request-timeout=4s',
      '-o',
      'jsonpath={.data.c}{"\\n"}',
    ])
    await new Promise((r) => setTimeout(r, 1000))
    await ok(['patch', 'cm', 'cfg', '--type', 'merge', '-p', '{"data":{"c":"watched"}}'])
    const r = await watch
    assert.match(r.stdout, /^edited\nwatched$/m)
  })

  test('delete waits for the object to be gone, and wait --for=delete returns at once after', async () => {
    assert.equal((await ok(['delete', 'cm', 'cfg'])).trim(), 'configmap "cfg" deleted')
    const r = await fails(['get', 'cm', 'cfg'])
    assert.match(r.stderr, /Error from server \(NotFound\): configmaps "cfg" not found/)
    await ok(['create', 'configmap', 'doomed'])
    const waiting = c.kubectl(['wait', '--for=delete', 'cm/doomed', '--timeout=20s'])
    await new Promise((resolve) => setTimeout(resolve, 500))
    await ok(['delete', 'cm', 'doomed', '--wait=false'])
    const w = await waiting
    assert.equal(w.code, 0, w.stderr)
    assert.match(w.stdout, /configmap\/doomed condition met/)
  })
})
