import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { loadKubeconfig } from '../../src/client/index.ts'
import { startControllerManager, type ControllerManager } from '../../src/controllers/index.ts'
import { writeKubeconfig } from '../../src/pki/index.ts'
import { kubectlMissing, startTestApiServer, testLog, type TestApiServer } from '../support/cluster.ts'
import { until } from '../support/until.ts'

/**
 * RBAC on an in-process apiserver with the clusterrole-aggregation controller: users from a
 * token file (alice in group devs, bob), the default policy, and the real kubectl.
 */
describe('RBAC', { skip: kubectlMissing }, () => {
  let api: TestApiServer
  let manager: ControllerManager
  let aliceKubeconfig = ''

  /** kubectl as the admin (system:masters). */
  const admin = (args: readonly string[], stdin?: string) => api.kubectl(args, stdin ? { stdin } : {})
  /** kubectl as alice, with her token and no client certificate. */
  const alice = (args: readonly string[], stdin?: string) =>
    api.kubectl(['--kubeconfig', aliceKubeconfig, ...args], stdin ? { stdin } : {})
  /** An HTTPS request as the holder of a token. */
  const asToken = (token: string, method: string, path: string, body?: unknown) =>
    api.request(method, path, {
      anonymous: true,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
  const json = (b: Buffer) => JSON.parse(b.toString()) as Record<string, unknown>

  before(async () => {
    api = await startTestApiServer()
    const tokens = join(api.dataDir, 'tokens.csv')
    writeFileSync(tokens, 'alice-token,alice,uid-alice,"devs"\nbob-token,bob,uid-bob\n')
    await api.stop({ keepData: true })
    api = await startTestApiServer({ dataDir: api.dataDir, tokenAuthFile: tokens })
    aliceKubeconfig = join(api.dataDir, 'alice.kubeconfig')
    writeKubeconfig(aliceKubeconfig, {
      server: api.server.url,
      caPem: api.server.caPem,
      token: 'alice-token',
      userName: 'alice',
    })
    manager = startControllerManager({
      client: loadKubeconfig(api.server.controllerManagerKubeconfig),
      useServiceAccountCredentials: true,
      controllers: ['clusterrole-aggregation'],
      leaderElect: false,
      log: testLog,
    })
    // view has its rules once the aggregation controller has run.
    await until(
      async () => {
        const r = await admin(['get', 'clusterrole', 'view', '-o', 'jsonpath={.rules[*].resources}'])
        return r.stdout.includes('pods')
      },
      20_000,
      'the view role to aggregate its rules',
    )
    const bind = await admin([
      'create',
      'rolebinding',
      'alice-view',
      '--clusterrole=view',
      '--user=alice',
      '--namespace=default',
    ])
    assert.equal(bind.code, 0, bind.stderr)
    await until(
      async () => (await alice(['auth', 'can-i', 'list', 'pods'])).stdout === 'yes\n',
      10_000,
      'alice to be allowed to list pods',
    )
  })

  after(async () => {
    await manager?.stop()
    await api?.stop()
  })

  test('a user with a view RoleBinding lists pods but may not create them', async () => {
    const list = await alice(['get', 'pods', '-n', 'default'])
    assert.equal(list.code, 0, list.stderr)
    assert.equal(list.stderr, 'No resources found in default namespace.\n')
    const create = await alice(
      ['create', '-n', 'default', '-f', '-'],
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: busybox\n',
    )
    assert.equal(create.code, 1)
    assert.equal(
      create.stderr,
      'Error from server (Forbidden): error when creating "STDIN": pods is forbidden: User "alice" cannot create resource "pods" in API group "" in the namespace "default"\n',
    )
    // The same over HTTPS, with the Status kubectl read it from.
    const r = await asToken('alice-token', 'POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    })
    assert.equal(r.code, 403)
    assert.deepEqual(json(r.body), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'pods is forbidden: User "alice" cannot create resource "pods" in API group "" in the namespace "default"',
      reason: 'Forbidden',
      details: { kind: 'pods' },
      code: 403,
    })
    // Elsewhere, and for what view does not cover, the answer is no.
    const secrets = await alice(['get', 'secrets', '-n', 'default'])
    assert.equal(
      secrets.stderr,
      'Error from server (Forbidden): secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" in the namespace "default"\n',
    )
    const nodes = await alice(['get', 'nodes'])
    assert.equal(
      nodes.stderr,
      'Error from server (Forbidden): nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope\n',
    )
  })

  test('kubectl auth can-i answers for oneself, for another user (--as, --as-group) and in a namespace', async () => {
    const can = async (args: string[], run = admin) => {
      const r = await run(['auth', 'can-i', ...args])
      return `${r.code} ${r.stdout.trim()}`
    }
    assert.equal(await can(['create', 'pods']), '0 yes')
    assert.equal(await can(['list', 'pods'], alice), '0 yes')
    assert.equal(await can(['create', 'pods'], alice), '1 no')
    assert.equal(await can(['list', 'pods', '-n', 'kube-system'], alice), '1 no')
    assert.equal(await can(['get', 'pods/log'], alice), '0 yes')
    assert.equal(await can(['get', '/version'], alice), '0 yes')
    assert.equal(await can(['get', '/metrics'], alice), '1 no')
    assert.equal(await can(['list', 'pods', '--as=alice']), '0 yes')
    assert.equal(await can(['create', 'deployments.apps', '--as=alice']), '1 no')
    assert.equal(await can(['create', 'pods', '--as=bob', '--as-group=system:masters']), '0 yes')
    assert.equal(await can(['list', 'pods', '--as=carol']), '1 no')
  })

  test('kubectl auth can-i --list --as prints the rules RBAC gives the user in the namespace', async () => {
    // view (aggregated from system:aggregate-to-view) in default, and what every signed-in user
    // has: system:basic-user, system:discovery and system:public-info-viewer.
    const r = await admin(['auth', 'can-i', '--list', '--as=alice', '-n', 'default'])
    assert.equal(r.code, 0, r.stderr)
    const golden = new URL('./fixtures/rbac-can-i-list-view.golden', import.meta.url)
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden, r.stdout)
    assert.equal(r.stdout, readFileSync(golden, 'utf8'))
  })

  test('a SubjectAccessReview answers for any user, naming the binding that allows', async () => {
    const review = (spec: unknown) =>
      api.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec }),
      })
    const yes = await review({
      user: 'alice',
      resourceAttributes: { namespace: 'default', verb: 'get', resource: 'pods' },
    })
    assert.equal(yes.code, 201)
    assert.deepEqual(json(yes.body).status, {
      allowed: true,
      reason: 'RBAC: allowed by RoleBinding "alice-view/default" of ClusterRole "view" to User "alice"',
    })
    const no = await review({ user: 'bob', nonResourceAttributes: { verb: 'get', path: '/metrics' } })
    assert.deepEqual(json(no.body).status, { allowed: false })
    const bad = await review({ resourceAttributes: { verb: 'get', resource: 'pods' } })
    assert.equal(bad.code, 422)
    assert.equal(
      json(bad.body).message,
      'SubjectAccessReview.authorization.k8s.io "" is invalid: spec.user: Invalid value: "": at least one of user or group must be specified',
    )
    // alice may not ask about others.
    const forbidden = await asToken(
      'alice-token',
      'POST',
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      {
        spec: { user: 'bob', resourceAttributes: { verb: 'get', resource: 'pods' } },
      },
    )
    assert.equal(forbidden.code, 403)
  })

  test('discovery lists the reviews with the create verb only', async () => {
    const r = await api.request('GET', '/apis/authorization.k8s.io/v1')
    const resources = (
      json(r.body).resources as { name: string; verbs: string[]; namespaced: boolean }[]
    ).map((x) => `${x.name} ${x.namespaced} ${x.verbs.join(',')}`)
    assert.deepEqual(resources, [
      'localsubjectaccessreviews true create',
      'selfsubjectaccessreviews false create',
      'selfsubjectrulesreviews false create',
      'subjectaccessreviews false create',
    ])
  })

  test('a user may not grant permissions they do not hold, nor bind a role they do not hold', async () => {
    // alice may write roles and bindings in default, and holds view there.
    const grant = await admin(
      ['apply', '-f', '-'],
      [
        'apiVersion: rbac.authorization.k8s.io/v1',
        'kind: Role',
        'metadata: {name: rbac-writer, namespace: default}',
        'rules:',
        '- apiGroups: [rbac.authorization.k8s.io]',
        '  resources: [roles, rolebindings]',
        '  verbs: [create, get, list, update, patch, delete]',
        '---',
        'apiVersion: rbac.authorization.k8s.io/v1',
        'kind: RoleBinding',
        'metadata: {name: alice-rbac-writer, namespace: default}',
        'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: rbac-writer}',
        'subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]',
      ].join('\n'),
    )
    assert.equal(grant.code, 0, grant.stderr)
    await until(
      async () => (await alice(['auth', 'can-i', 'create', 'roles'])).stdout === 'yes\n',
      10_000,
      'alice to be allowed to create roles',
    )
    const escalate = await alice([
      'create',
      'role',
      'secret-reader',
      '--verb=get,list',
      '--resource=secrets,pods',
    ])
    assert.equal(escalate.code, 1)
    assert.equal(
      escalate.stderr,
      'Error from server (Forbidden): roles.rbac.authorization.k8s.io "secret-reader" is forbidden: user "alice" (groups=["devs" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n' +
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}\n',
    )
    // What she holds she may grant.
    const ok = await alice(['create', 'role', 'pod-reader', '--verb=get,list', '--resource=pods'])
    assert.equal(ok.code, 0, ok.stderr)
    const bind = await alice(['create', 'rolebinding', 'bob-edit', '--clusterrole=edit', '--user=bob'])
    assert.equal(bind.code, 1)
    assert.match(
      bind.stderr,
      /^error: failed to create rolebinding: rolebindings\.rbac\.authorization\.k8s\.io "bob-edit" is forbidden: user "alice" \(groups=\["devs" "system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n/,
    )
    assert.ok(
      bind.stderr.includes(
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list" "watch" "create" "delete" "deletecollection" "patch" "update"]}\n',
      ),
    )
    const bindView = await alice(['create', 'rolebinding', 'bob-view', '--clusterrole=view', '--user=bob'])
    assert.equal(bindView.code, 0, bindView.stderr)
    // With `bind` on the edit role she may bind it after all.
    const bindGrant = await admin([
      'create',
      'role',
      'edit-binder',
      '--verb=bind',
      '--resource=clusterroles',
      '--resource-name=edit',
    ])
    assert.equal(bindGrant.code, 0, bindGrant.stderr)
    assert.equal(
      (await admin(['create', 'rolebinding', 'alice-binder', '--role=edit-binder', '--user=alice'])).code,
      0,
    )
    await until(
      async () =>
        (await alice(['create', 'rolebinding', 'bob-edit', '--clusterrole=edit', '--user=bob'])).code === 0,
      10_000,
      'alice to bind edit',
    )
  })

  test('impersonation: allowed for the admin, refused to a plain user', async () => {
    const asCarol = await admin(['get', 'pods', '-n', 'default', '--as=carol'])
    assert.equal(
      asCarol.stderr,
      'Error from server (Forbidden): pods is forbidden: User "carol" cannot list resource "pods" in API group "" in the namespace "default"\n',
    )
    const asAlice = await admin(['get', 'pods', '-n', 'default', '--as=alice'])
    assert.equal(asAlice.code, 0, asAlice.stderr)
    const byAlice = await alice(['get', 'pods', '--as=carol'])
    assert.equal(
      byAlice.stderr,
      'Error from server (Forbidden): users "carol" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope\n',
    )
    const groupOnly = await api.request('GET', '/api/v1/pods', { headers: { 'Impersonate-Group': 'devs' } })
    assert.equal(groupOnly.code, 400)
  })

  test('an aggregated ClusterRole picks up the rules of the roles its selector matches', async () => {
    const r = await admin(
      ['apply', '-f', '-'],
      [
        'apiVersion: rbac.authorization.k8s.io/v1',
        'kind: ClusterRole',
        'metadata: {name: monitoring}',
        'aggregationRule:',
        '  clusterRoleSelectors:',
        '  - matchLabels: {example.com/aggregate-to-monitoring: "true"}',
        '---',
        'apiVersion: rbac.authorization.k8s.io/v1',
        'kind: ClusterRole',
        'metadata:',
        '  name: monitoring-endpoints',
        '  labels: {example.com/aggregate-to-monitoring: "true"}',
        'rules:',
        '- apiGroups: [""]',
        '  resources: [services, endpoints, pods]',
        '  verbs: [get, list, watch]',
      ].join('\n'),
    )
    assert.equal(r.code, 0, r.stderr)
    const rules = await until(
      async () => {
        const g = await admin(['get', 'clusterrole', 'monitoring', '-o', 'jsonpath={.rules}'])
        return g.stdout !== '' && g.stdout
      },
      10_000,
      'monitoring to aggregate',
    )
    assert.deepEqual(JSON.parse(rules), [
      { apiGroups: [''], resources: ['services', 'endpoints', 'pods'], verbs: ['get', 'list', 'watch'] },
    ])
    // Setting an aggregationRule takes cluster-admin's rules, even to one who may write ClusterRoles.
    for (const args of [
      ['create', 'clusterrole', 'clusterrole-writer', '--verb=create', '--resource=clusterroles'],
      [
        'create',
        'clusterrolebinding',
        'alice-clusterrole-writer',
        '--clusterrole=clusterrole-writer',
        '--user=alice',
      ],
    ]) {
      const w = await admin(args)
      assert.equal(w.code, 0, w.stderr)
    }
    await until(
      async () => (await alice(['auth', 'can-i', 'create', 'clusterroles'])).stdout === 'yes\n',
      10_000,
      'alice to be allowed to create clusterroles',
    )
    const agg = await alice(
      ['create', '-f', '-'],
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: mine}\naggregationRule:\n  clusterRoleSelectors: [{matchLabels: {x: "y"}}]\n',
    )
    assert.equal(agg.code, 1)
    assert.equal(
      agg.stderr,
      'Error from server (Forbidden): error when creating "STDIN": clusterroles.rbac.authorization.k8s.io "mine" is forbidden: must have cluster-admin privileges to use the aggregationRule\n',
    )
  })

  test('anonymous requests read /version and health, and are refused the rest with 403; a bad token is 401', async () => {
    for (const p of ['/version', '/healthz', '/livez', '/readyz']) {
      assert.equal((await api.request('GET', p, { anonymous: true })).code, 200, p)
    }
    const pods = await api.request('GET', '/api/v1/pods', { anonymous: true })
    assert.equal(pods.code, 403)
    assert.equal(
      json(pods.body).message,
      'pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" at the cluster scope',
    )
    const api_ = await api.request('GET', '/api', { anonymous: true })
    assert.equal(api_.code, 403)
    assert.equal(json(api_.body).message, 'forbidden: User "system:anonymous" cannot get path "/api"')
    const bad = await asToken('nope', 'GET', '/api/v1/pods')
    assert.equal(bad.code, 401)
  })
})
