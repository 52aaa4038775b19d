import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseSchedulerConfiguration, SchedulerConfigError } from './config.ts'
import { defaultPlugins } from './plugins/registry.ts'

const header = 'apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n'

test('no profiles: one default-scheduler profile with the default plugins', () => {
  const c = parseSchedulerConfiguration(header)
  assert.equal(c.profiles.length, 1)
  assert.equal(c.profiles[0]?.schedulerName, 'default-scheduler')
  assert.deepEqual(c.profiles[0]?.plugins, defaultPlugins)
})

test('two profiles, multiPoint and per-point changes, args, percentages, leader election, back-off', () => {
  const c = parseSchedulerConfiguration(`${header}
percentageOfNodesToScore: 30
clientConnection: { kubeconfig: /etc/k/scheduler.kubeconfig }
leaderElection: { leaderElect: false, leaseDuration: 30s, renewDeadline: 20s, retryPeriod: 4s }
podInitialBackoffSeconds: 2
podMaxBackoffSeconds: 20
profiles:
  - schedulerName: default-scheduler
  - schedulerName: no-scoring
    percentageOfNodesToScore: 100
    plugins:
      multiPoint:
        enabled: [{ name: TaintToleration, weight: 5 }]
        disabled: [{ name: NodeResourcesBalancedAllocation }]
      score:
        disabled: [{ name: '*' }]
    pluginConfig:
      - name: NodeResourcesFit
        args: { scoringStrategy: { type: MostAllocated } }
`)
  assert.deepEqual(
    c.profiles.map((p) => [p.schedulerName, p.percentageOfNodesToScore]),
    [
      ['default-scheduler', 30],
      ['no-scoring', 100],
    ],
  )
  const p = c.profiles[1]
  assert.deepEqual(
    p?.plugins.find((x) => x.name === 'TaintToleration'),
    { name: 'TaintToleration', weight: 5 },
  )
  assert.equal(
    p?.plugins.some((x) => x.name === 'NodeResourcesBalancedAllocation'),
    false,
  )
  assert.deepEqual(p?.points?.score, { enabled: [], disabled: ['*'] })
  assert.deepEqual(p?.pluginArgs?.get('NodeResourcesFit'), { scoringStrategy: { type: 'MostAllocated' } })
  assert.deepEqual(
    [c.kubeconfig, c.leaderElect, c.leaseDurationMs, c.renewDeadlineMs, c.retryPeriodMs],
    ['/etc/k/scheduler.kubeconfig', false, 30_000, 20_000, 4000],
  )
  assert.deepEqual([c.podInitialBackoffMs, c.podMaxBackoffMs], [2000, 20_000])
})

test('bad configurations are refused naming the field', () => {
  const bad: [string, RegExp][] = [
    ['apiVersion: v1\nkind: Pod\n', /expected apiVersion kubescheduler.config.k8s.io\/v1/],
    [`${header}profiles: []\n`, /profiles: Required value/],
    [
      `${header}profiles: [{schedulerName: a}, {schedulerName: a}]\n`,
      /profiles\[1\]\.schedulerName: Duplicate value: "a"/,
    ],
    [`${header}percentageOfNodesToScore: 101\n`, /percentageOfNodesToScore: Invalid value: 101/],
    [
      `${header}profiles: [{plugins: {multiPoint: {enabled: [{name: Nope}]}}}]\n`,
      /profiles\[0\]\.plugins\.multiPoint\.enabled\[0\]\.name: Invalid value: "Nope": no such plugin/,
    ],
    [
      `${header}leaderElection: {leaseDuration: soon}\n`,
      /leaderElection.leaseDuration: Invalid value: "soon"/,
    ],
    ['a: [', /not YAML/],
    [
      `${header}profiles: [{pluginConfig: [{name: NodeResourcesFit, args: {scoringStrategy: {type: Nope}}}]}]\n`,
      /profiles\[0\]: NodeResourcesFitArgs.scoringStrategy.type: Unsupported value: "Nope"/,
    ],
    [
      `${header}profiles: [{plugins: {filter: {enabled: [{name: DefaultBinder}]}}}]\n`,
      /profiles\[0\]: profile default-scheduler: plugin DefaultBinder does not extend filter/,
    ],
  ]
  for (const [text, re] of bad) {
    assert.throws(
      () => parseSchedulerConfiguration(text),
      (err) => err instanceof SchedulerConfigError && re.test(err.message),
      text,
    )
  }
})
