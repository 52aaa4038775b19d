import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ago, columns, meta, row, types } from './testing.ts'

type O = Record<string, unknown>

const template = {
  metadata: { labels: { app: 'web' } },
  spec: {
    containers: [
      { name: 'web', image: 'nginx:1.27' },
      { name: 'log', image: 'busybox:1.36' },
    ],
  },
}
const selector = {
  matchLabels: { app: 'web' },
  matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'DoesNotExist' }],
}

describe('replica controllers', () => {
  test('deployments', () => {
    assert.deepEqual(columns('apps', 'deployments'), [
      'Name',
      'Ready',
      'Up-to-date',
      'Available',
      'Age',
      '(Containers)',
      '(Images)',
      '(Selector)',
    ])
    const d = {
      metadata: meta('web'),
      spec: { replicas: 3, selector, template },
      status: { replicas: 3, readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
    }
    assert.deepEqual(row('apps', 'deployments', d), [
      'web',
      '2/3',
      3,
      2,
      '5m30s',
      'web,log',
      'nginx:1.27,busybox:1.36',
      'app=web,!app.kubernetes.io/name',
    ])
    const fresh = { metadata: meta('new'), spec: { replicas: 1, selector: {}, template }, status: {} }
    assert.deepEqual(row('apps', 'deployments', fresh).slice(1, 4), ['0/1', 0, 0])
    assert.equal(row('apps', 'deployments', fresh)[7], '', 'an empty selector prints as nothing')
  })

  test('replica sets and replication controllers', () => {
    const cols = ['Name', 'Desired', 'Current', 'Ready', 'Age', '(Containers)', '(Images)', '(Selector)']
    assert.deepEqual(columns('apps', 'replicasets'), cols)
    assert.deepEqual(columns('', 'replicationcontrollers'), cols)
    assert.deepEqual(types('apps', 'replicasets').slice(1, 4), ['integer', 'integer', 'integer'])
    const rs = {
      metadata: meta('web-7d4b9c8f5'),
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web', 'pod-template-hash': '7d4b9c8f5' } },
        template,
      },
      status: { replicas: 3, readyReplicas: 1 },
    }
    assert.deepEqual(row('apps', 'replicasets', rs), [
      'web-7d4b9c8f5',
      3,
      3,
      1,
      '5m30s',
      'web,log',
      'nginx:1.27,busybox:1.36',
      'app=web,pod-template-hash=7d4b9c8f5',
    ])
    const emptySelector = { metadata: meta('x'), spec: { replicas: 0, selector: {}, template }, status: {} }
    assert.equal(row('apps', 'replicasets', emptySelector)[7], '<none>')
    const rc = {
      metadata: meta('legacy'),
      spec: { replicas: 2, selector: { app: 'legacy', tier: 'be' }, template },
      status: { replicas: 2, readyReplicas: 2 },
    }
    assert.deepEqual(row('', 'replicationcontrollers', rc).slice(0, 5), ['legacy', 2, 2, 2, '5m30s'])
    assert.equal(row('', 'replicationcontrollers', rc)[7], 'app=legacy,tier=be')
    assert.deepEqual(row('', 'replicationcontrollers', { metadata: meta('bare'), spec: {} }).slice(5), [
      '',
      '',
      '<none>',
    ])
  })

  test('stateful sets', () => {
    assert.deepEqual(columns('apps', 'statefulsets'), ['Name', 'Ready', 'Age', '(Containers)', '(Images)'])
    const sts = {
      metadata: meta('db'),
      spec: { replicas: 3, serviceName: 'db', selector, template },
      status: { replicas: 3, readyReplicas: 2 },
    }
    assert.deepEqual(row('apps', 'statefulsets', sts), [
      'db',
      '2/3',
      '5m30s',
      'web,log',
      'nginx:1.27,busybox:1.36',
    ])
  })

  test('daemon sets', () => {
    assert.deepEqual(columns('apps', 'daemonsets'), [
      'Name',
      'Desired',
      'Current',
      'Ready',
      'Up-to-date',
      'Available',
      'Node Selector',
      'Age',
      '(Containers)',
      '(Images)',
      '(Selector)',
    ])
    const ds = {
      metadata: meta('agent'),
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: { ...template, spec: { ...template.spec, nodeSelector: { 'kubernetes.io/os': 'linux' } } },
      },
      status: {
        desiredNumberScheduled: 3,
        currentNumberScheduled: 3,
        numberReady: 2,
        updatedNumberScheduled: 3,
        numberAvailable: 2,
      },
    }
    assert.deepEqual(row('apps', 'daemonsets', ds), [
      'agent',
      3,
      3,
      2,
      3,
      2,
      'kubernetes.io/os=linux',
      '5m30s',
      'web,log',
      'nginx:1.27,busybox:1.36',
      'app=agent',
    ])
    const anywhere = { metadata: meta('any'), spec: { selector: {}, template }, status: {} }
    assert.deepEqual(row('apps', 'daemonsets', anywhere).slice(6, 7), ['<none>'])
  })
})

describe('jobs and cron jobs', () => {
  const job = (spec: O, status: O, m: O = {}) =>
    row('batch', 'jobs', {
      metadata: meta('pi', m),
      spec: { template, selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u1' } }, ...spec },
      status,
    })

  test('columns', () => {
    assert.deepEqual(columns('batch', 'jobs'), [
      'Name',
      'Status',
      'Completions',
      'Duration',
      'Age',
      '(Containers)',
      '(Images)',
      '(Selector)',
    ])
  })

  test('a running job, and one that completed', () => {
    assert.deepEqual(
      job({ completions: 3, parallelism: 1 }, { active: 1, succeeded: 1, startTime: ago(90) }),
      [
        'pi',
        'Running',
        '1/3',
        '90s',
        '5m30s',
        'web,log',
        'nginx:1.27,busybox:1.36',
        'batch.kubernetes.io/controller-uid=u1',
      ],
    )
    const complete = job(
      { completions: 1 },
      {
        succeeded: 1,
        startTime: ago(300),
        completionTime: ago(255),
        conditions: [
          { type: 'SuccessCriteriaMet', status: 'True' },
          { type: 'Complete', status: 'True' },
        ],
      },
    )
    assert.deepEqual(complete.slice(1, 4), ['Complete', '1/1', '45s'])
  })

  test('completions without a count: one, or one of the parallel pods', () => {
    assert.deepEqual(job({ parallelism: 4 }, {}).slice(1, 4), ['Running', '0/1 of 4', ''])
    assert.deepEqual(job({ parallelism: 1 }, { succeeded: 1 }).slice(2, 3), ['1/1'])
  })

  test('the STATUS column follows the conditions that are true', () => {
    const status = (conditions: O[], m: O = {}) => job({ completions: 2 }, { conditions }, m)[1]
    const t = (type: string) => ({ type, status: 'True' })
    assert.equal(status([t('Failed'), t('FailureTarget')]), 'Failed')
    assert.equal(status([t('Suspended')]), 'Suspended')
    assert.equal(status([t('FailureTarget')]), 'FailureTarget')
    assert.equal(status([t('SuccessCriteriaMet')]), 'SuccessCriteriaMet')
    assert.equal(status([{ type: 'Complete', status: 'False' }]), 'Running')
    assert.equal(status([t('Suspended')], { deletionTimestamp: ago(2) }), 'Terminating')
    assert.equal(status([t('Complete')], { deletionTimestamp: ago(2) }), 'Complete')
  })

  test('cron jobs', () => {
    assert.deepEqual(columns('batch', 'cronjobs'), [
      'Name',
      'Schedule',
      'Timezone',
      'Suspend',
      'Active',
      'Last Schedule',
      'Age',
      '(Containers)',
      '(Images)',
      '(Selector)',
    ])
    assert.deepEqual(types('batch', 'cronjobs').slice(3, 5), ['boolean', 'integer'])
    const cj = {
      metadata: meta('backup'),
      spec: {
        schedule: '*/5 * * * *',
        timeZone: 'Europe/Berlin',
        suspend: false,
        jobTemplate: { spec: { template } },
      },
      status: { active: [{ name: 'backup-29345' }], lastScheduleTime: ago(60) },
    }
    assert.deepEqual(row('batch', 'cronjobs', cj), [
      'backup',
      '*/5 * * * *',
      'Europe/Berlin',
      'False',
      1,
      '60s',
      '5m30s',
      'web,log',
      'nginx:1.27,busybox:1.36',
      '<none>',
    ])
    const never = { metadata: meta('n'), spec: { schedule: '@daily', jobTemplate: { spec: { template } } } }
    assert.deepEqual(row('batch', 'cronjobs', never).slice(1, 6), [
      '@daily',
      '<none>',
      '<unset>',
      0,
      '<none>',
    ])
  })
})

describe('revisions and disruption budgets', () => {
  test('controller revisions name their controller as kind.group/name', () => {
    assert.deepEqual(columns('apps', 'controllerrevisions'), ['Name', 'Controller', 'Revision', 'Age'])
    const owned = (apiVersion: string, kind: string) => ({
      metadata: meta('web-6c5d8f7b9', {
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'other', uid: 'u0' },
          { apiVersion, kind, name: 'web', uid: 'u1', controller: true },
        ],
      }),
      revision: 2,
    })
    assert.deepEqual(row('apps', 'controllerrevisions', owned('apps/v1', 'StatefulSet')), [
      'web-6c5d8f7b9',
      'statefulset.apps/web',
      2,
      '5m30s',
    ])
    assert.equal(row('apps', 'controllerrevisions', owned('v1', 'Pod'))[1], 'pod/web')
    assert.equal(row('apps', 'controllerrevisions', { metadata: meta('free'), revision: 1 })[1], '<none>')
  })

  test('pod disruption budgets', () => {
    assert.deepEqual(columns('policy', 'poddisruptionbudgets'), [
      'Name',
      'Min Available',
      'Max Unavailable',
      'Allowed Disruptions',
      'Age',
    ])
    const pdb = (spec: O) =>
      row('policy', 'poddisruptionbudgets', {
        metadata: meta('web'),
        spec: { selector, ...spec },
        status: { disruptionsAllowed: 1 },
      })
    assert.deepEqual(pdb({ minAvailable: 2 }), ['web', '2', 'N/A', 1, '5m30s'])
    assert.deepEqual(pdb({ maxUnavailable: '25%' }).slice(1, 3), ['N/A', '25%'])
  })
})
