import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ago, columns, meta, row, types } from './testing.ts'

type O = Record<string, unknown>

/** A pod of two containers, `a` and `b`, on node n1 unless the spec says otherwise. */
function pod(spec: O, status: O, m: O = {}): O {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta('web-7d4b9c8f5-x2x9p', m),
    spec: { nodeName: 'n1', containers: [{ name: 'a' }, { name: 'b' }], ...spec },
    status,
  }
}

const running = { running: { startedAt: ago(300) } }
const ready = (name: string, extra: O = {}) => ({
  name,
  ready: true,
  started: true,
  state: running,
  ...extra,
})

/** READY, STATUS and RESTARTS of a pod. */
const summary = (p: O) => row('', 'pods', p).slice(1, 4)

describe('pods', () => {
  test('columns and their types', () => {
    assert.deepEqual(columns('', 'pods'), [
      'Name',
      'Ready',
      'Status',
      'Restarts',
      'Age',
      '(IP)',
      '(Node)',
      '(Nominated Node)',
      '(Readiness Gates)',
    ])
    assert.deepEqual(types('', 'pods'), Array(9).fill('string'))
  })

  test('a running pod, with restarts and how long ago the last one was', () => {
    const p = pod(
      {},
      {
        phase: 'Running',
        podIP: '10.244.1.5',
        podIPs: [{ ip: '10.244.1.5' }, { ip: 'fd00:10:244:1::5' }],
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: [
          ready('a', { restartCount: 1, lastState: { terminated: { exitCode: 1, finishedAt: ago(3600) } } }),
          ready('b', { restartCount: 2, lastState: { terminated: { exitCode: 137, finishedAt: ago(300) } } }),
        ],
      },
    )
    assert.deepEqual(row('', 'pods', p), [
      'web-7d4b9c8f5-x2x9p',
      '2/2',
      'Running',
      '3 (5m ago)',
      '5m30s',
      '10.244.1.5',
      'n1',
      '<none>',
      '<none>',
    ])
  })

  test('a pending pod nobody has scheduled yet', () => {
    const p = pod(
      { nodeName: undefined },
      { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] },
    )
    assert.deepEqual(row('', 'pods', p), [
      'web-7d4b9c8f5-x2x9p',
      '0/2',
      'Pending',
      '0',
      '5m30s',
      '<none>',
      '<none>',
      '<none>',
      '<none>',
    ])
  })

  test('waiting reasons: the first container that has one names the status', () => {
    const creating = pod(
      {},
      {
        phase: 'Pending',
        containerStatuses: [
          { name: 'a', state: { waiting: { reason: 'ContainerCreating' } } },
          { name: 'b', state: { waiting: { reason: 'ImagePullBackOff' } } },
        ],
      },
    )
    assert.deepEqual(summary(creating), ['0/2', 'ContainerCreating', '0'])
    const crashing = pod(
      {},
      {
        phase: 'Running',
        containerStatuses: [
          ready('a'),
          {
            name: 'b',
            ready: false,
            restartCount: 5,
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 2m40s' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(30) } },
          },
        ],
      },
    )
    assert.deepEqual(summary(crashing), ['1/2', 'CrashLoopBackOff', '5 (30s ago)'])
  })

  test('terminated containers: their reason, else the signal, else the exit code', () => {
    const failed = (a: O, b: O) =>
      pod(
        {},
        {
          phase: 'Failed',
          containerStatuses: [
            { name: 'a', state: { terminated: a } },
            { name: 'b', state: { terminated: b } },
          ],
        },
      )
    assert.equal(summary(failed({ exitCode: 1, reason: 'Error' }, { exitCode: 0 }))[1], 'Error')
    assert.equal(
      summary(failed({ exitCode: 137, signal: 9 }, { exitCode: 1, reason: 'Error' }))[1],
      'Signal:9',
    )
    assert.equal(summary(failed({ exitCode: 2 }, { exitCode: 137, reason: 'OOMKilled' }))[1], 'ExitCode:2')
    const oom = failed({ exitCode: 0, reason: 'Completed' }, { exitCode: 137, reason: 'OOMKilled' })
    assert.deepEqual(summary(oom), ['0/2', 'Completed', '0'], 'the first container wins')
  })

  test('completed pods, and pods with a container still running after another completed', () => {
    const done = pod(
      { containers: [{ name: 'a' }] },
      {
        phase: 'Succeeded',
        containerStatuses: [{ name: 'a', state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
      },
    )
    assert.deepEqual(summary(done), ['0/1', 'Completed', '0'])
    const partly = (conditions: O[]) =>
      pod(
        {},
        {
          phase: 'Running',
          conditions,
          containerStatuses: [
            { name: 'a', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
            ready('b'),
          ],
        },
      )
    assert.deepEqual(summary(partly([{ type: 'Ready', status: 'True' }])), ['1/2', 'Running', '0'])
    assert.deepEqual(summary(partly([{ type: 'Ready', status: 'False' }])), ['1/2', 'NotReady', '0'])
  })

  test('a pod evicted from its node keeps the reason the kubelet gave', () => {
    const evicted = pod(
      {},
      { phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' },
    )
    assert.deepEqual(summary(evicted), ['0/2', 'Evicted', '0'])
  })

  test('init containers: progress, failures, and their restarts', () => {
    const spec = { initContainers: [{ name: 'init-db' }, { name: 'init-cache' }] }
    const init = (statuses: O[], containerStatuses: O[] = []) =>
      pod(spec, { phase: 'Pending', initContainerStatuses: statuses, containerStatuses })
    const waitingMain = [
      { name: 'a', state: { waiting: { reason: 'PodInitializing' } } },
      { name: 'b', state: { waiting: { reason: 'PodInitializing' } } },
    ]
    assert.deepEqual(
      summary(
        init([
          { name: 'init-db', state: running },
          { name: 'init-cache', state: { waiting: {} } },
        ]),
      ),
      ['0/2', 'Init:0/2', '0'],
    )
    assert.deepEqual(
      summary(
        init(
          [
            { name: 'init-db', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
            { name: 'init-cache', state: running },
          ],
          waitingMain,
        ),
      ),
      ['0/2', 'Init:1/2', '0'],
    )
    assert.equal(
      summary(init([{ name: 'init-db', state: { waiting: { reason: 'PodInitializing' } } }]))[1],
      'Init:0/2',
    )
    const crashing = init([
      {
        name: 'init-db',
        restartCount: 4,
        state: { waiting: { reason: 'CrashLoopBackOff' } },
        lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(20) } },
      },
      { name: 'init-cache', restartCount: 7, state: { waiting: { reason: 'PodInitializing' } } },
    ])
    assert.deepEqual(summary(crashing), ['0/2', 'Init:CrashLoopBackOff', '4 (20s ago)'])
    const failed = (terminated: O) => summary(init([{ name: 'init-db', state: { terminated } }]))[1]
    assert.equal(failed({ exitCode: 1, reason: 'Error' }), 'Init:Error')
    assert.equal(failed({ exitCode: 3 }), 'Init:ExitCode:3')
    assert.equal(failed({ exitCode: 143, signal: 15 }), 'Init:Signal:15')
  })

  test('sidecars (restartable init containers) count in READY and RESTARTS', () => {
    const spec = {
      initContainers: [{ name: 'migrate' }, { name: 'proxy', restartPolicy: 'Always' }],
    }
    const migrated = { name: 'migrate', state: { terminated: { exitCode: 0, reason: 'Completed' } } }
    const up = pod(spec, {
      phase: 'Running',
      conditions: [
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: 'True' },
      ],
      initContainerStatuses: [
        migrated,
        {
          name: 'proxy',
          started: true,
          ready: true,
          state: running,
          restartCount: 2,
          lastState: { terminated: { exitCode: 1, finishedAt: ago(90) } },
        },
      ],
      containerStatuses: [
        ready('a', { restartCount: 1, lastState: { terminated: { exitCode: 1, finishedAt: ago(200) } } }),
        { name: 'b', ready: false, started: true, state: running },
      ],
    })
    assert.deepEqual(summary(up), ['2/3', 'Running', '3 (90s ago)'])
    const starting = pod(spec, {
      phase: 'Pending',
      conditions: [{ type: 'Initialized', status: 'False' }],
      initContainerStatuses: [migrated, { name: 'proxy', started: false, ready: false, state: running }],
    })
    assert.deepEqual(summary(starting), ['0/3', 'Init:1/2', '0'])
  })

  test('pods being deleted: Terminating, or Unknown when their node is lost', () => {
    const deleting = (phase: string, reason?: string) =>
      summary(
        pod(
          {},
          { phase, reason, containerStatuses: [ready('a'), ready('b')] },
          { deletionTimestamp: ago(10), deletionGracePeriodSeconds: 30 },
        ),
      )[1]
    assert.equal(deleting('Running'), 'Terminating')
    assert.equal(deleting('Pending'), 'Terminating')
    assert.equal(deleting('Running', 'NodeLost'), 'Unknown')
    assert.equal(deleting('Succeeded'), 'Succeeded', 'a finished pod is not terminating')
  })

  test('scheduling gates, nominated nodes and readiness gates', () => {
    const gated = pod(
      { nodeName: undefined, schedulingGates: [{ name: 'example.com/quota' }] },
      {
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }],
      },
    )
    assert.equal(summary(gated)[1], 'SchedulingGated')
    const preempting = pod({ nodeName: undefined }, { phase: 'Pending', nominatedNodeName: 'n2' })
    assert.deepEqual(row('', 'pods', preempting).slice(5), ['<none>', '<none>', 'n2', '<none>'])
    const gates = pod(
      { readinessGates: [{ conditionType: 'example.com/lb' }, { conditionType: 'example.com/dns' }] },
      {
        phase: 'Running',
        podIPs: [{ ip: '10.244.1.6' }],
        conditions: [
          { type: 'example.com/lb', status: 'True' },
          { type: 'example.com/dns', status: 'False' },
        ],
      },
    )
    assert.deepEqual(row('', 'pods', gates).slice(5), ['10.244.1.6', 'n1', '<none>', '1/2'])
  })
})

describe('pod templates', () => {
  test('containers, images and pod labels', () => {
    assert.deepEqual(columns('', 'podtemplates'), ['Name', 'Containers', 'Images', 'Pod Labels'])
    const t = {
      metadata: meta('tpl'),
      template: {
        metadata: { labels: { tier: 'web', app: 'shop' } },
        spec: {
          containers: [
            { name: 'web', image: 'nginx:1.27' },
            { name: 'log', image: 'busybox:1.36' },
          ],
        },
      },
    }
    assert.deepEqual(row('', 'podtemplates', t), [
      'tpl',
      'web,log',
      'nginx:1.27,busybox:1.36',
      'app=shop,tier=web',
    ])
    assert.deepEqual(row('', 'podtemplates', { metadata: meta('bare'), template: {} }), [
      'bare',
      '',
      '',
      '<none>',
    ])
  })
})
