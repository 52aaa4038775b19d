import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fieldErrorMessage } from '../field-errors.ts'
import type { StoredObject } from '../object.ts'
import { validatorFor } from './index.ts'
import { indexesFormat } from './job.ts'

/** Jobs as the apiserver sees them after defaulting: a selector, labels, restartPolicy Never. */
function makeJob(spec: Record<string, unknown> = {}, o: { name?: string; status?: unknown } = {}) {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: o.name ?? 'pi', namespace: 'default', uid: 'u1' },
    spec: {
      parallelism: 1,
      completions: 1,
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u1' } },
      template: {
        metadata: { labels: { 'batch.kubernetes.io/controller-uid': 'u1' } },
        spec: {
          restartPolicy: 'Never',
          initContainers: [{ name: 'setup', image: 'busybox' }],
          containers: [{ name: 'main', image: 'busybox' }],
        },
      },
      ...spec,
    },
    ...(o.status !== undefined ? { status: o.status } : {}),
  }
}

const indexed = (spec: Record<string, unknown> = {}) =>
  makeJob({ completionMode: 'Indexed', completions: 4, parallelism: 2, ...spec })
const exitCodes = (operator: string, values: unknown, more: Record<string, unknown> = {}) => ({
  podFailurePolicy: { rules: [{ action: 'Count', onExitCodes: { operator, values, ...more } }] },
})
const withRestart = (job: ReturnType<typeof makeJob>, restartPolicy: string) => {
  job.spec.template.spec.restartPolicy = restartPolicy
  return job
}

const validator = validatorFor('batch', 'jobs')
const messages = (job: unknown) => {
  assert.ok(validator)
  return validator.validate(job as StoredObject).map(fieldErrorMessage)
}
const updateMessages = (next: unknown, prev: unknown) => {
  assert.ok(validator)
  return validator.validateUpdate(next as StoredObject, prev as StoredObject).map(fieldErrorMessage)
}

const createCases: { name: string; job: unknown; want: string[] }[] = [
  { name: 'a plain Job is valid', job: makeJob(), want: [] },
  {
    name: 'an Indexed Job with per-index limits, a failure policy and a success policy is valid',
    job: indexed({
      backoffLimitPerIndex: 1,
      maxFailedIndexes: 2,
      podReplacementPolicy: 'Failed',
      podFailurePolicy: {
        rules: [
          { action: 'FailIndex', onExitCodes: { containerName: 'main', operator: 'In', values: [1, 42] } },
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
          { action: 'FailJob', onExitCodes: { operator: 'NotIn', values: [0, 1, 42] } },
        ],
      },
      successPolicy: { rules: [{ succeededIndexes: '0,2-3', succeededCount: 2 }] },
    }),
    want: [],
  },
  {
    name: 'backoffLimitPerIndex and maxFailedIndexes need completionMode Indexed',
    job: makeJob({ backoffLimitPerIndex: 1, maxFailedIndexes: 1 }),
    want: [
      'spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode',
      'spec.maxFailedIndexes: Invalid value: 1: requires indexed completion mode',
    ],
  },
  {
    name: 'maxFailedIndexes needs backoffLimitPerIndex',
    job: indexed({ maxFailedIndexes: 1 }),
    want: ['spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified'],
  },
  {
    name: 'negative per-index limits are refused',
    job: indexed({ backoffLimitPerIndex: -1, maxFailedIndexes: -2 }),
    want: [
      'spec.backoffLimitPerIndex: Invalid value: -1: must be greater than or equal to 0',
      'spec.maxFailedIndexes: Invalid value: -2: must be greater than or equal to 0',
    ],
  },
  {
    name: 'maxFailedIndexes may not exceed completions',
    job: indexed({ backoffLimitPerIndex: 1, maxFailedIndexes: 5 }),
    want: ['spec.maxFailedIndexes: Invalid value: 5: must be less than or equal to completions'],
  },
  {
    name: 'an Indexed Job needs completions, and at most 100000 parallelism',
    job: makeJob({ completionMode: 'Indexed', completions: undefined, parallelism: 100_001 }),
    want: [
      'spec.completions: Required value: when completion mode is Indexed',
      'spec.parallelism: Invalid value: 100001: must be less than or equal to 100000 when completion mode is Indexed',
    ],
  },
  {
    name: 'above 100000 completions, backoffLimitPerIndex needs maxFailedIndexes and at most 10000 parallelism',
    job: indexed({ completions: 200_000, parallelism: 20_000, backoffLimitPerIndex: 1 }),
    want: [
      'spec.maxFailedIndexes: Required value: must be specified when completions is above 100000',
      'spec.parallelism: Invalid value: 20000: must be less than or equal to 10000 when completions are above 100000 and used with backoff limit per index',
    ],
  },
  {
    name: 'above 100000 completions, maxFailedIndexes is at most 10000',
    job: indexed({
      completions: 200_000,
      parallelism: 10,
      backoffLimitPerIndex: 1,
      maxFailedIndexes: 150_000,
    }),
    want: [
      'spec.maxFailedIndexes: Invalid value: 150000: must be less than or equal to 100000',
      'spec.maxFailedIndexes: Invalid value: 150000: must be less than or equal to 10000 when completions are above 100000 and used with backoff limit per index',
    ],
  },
  {
    name: 'counts and durations may be 0 but not negative',
    job: makeJob({
      activeDeadlineSeconds: 0,
      parallelism: 0,
      completions: 0,
      backoffLimit: 0,
      ttlSecondsAfterFinished: -1,
    }),
    want: ['spec.ttlSecondsAfterFinished: Invalid value: -1: must be greater than or equal to 0'],
  },
  {
    name: 'a negative activeDeadlineSeconds is refused',
    job: makeJob({ activeDeadlineSeconds: -5 }),
    want: ['spec.activeDeadlineSeconds: Invalid value: -5: must be greater than or equal to 0'],
  },
  {
    name: 'an unknown completionMode is not supported',
    job: makeJob({ completionMode: 'Sometimes' }),
    want: ['spec.completionMode: Unsupported value: "Sometimes": supported values: "NonIndexed", "Indexed"'],
  },
  {
    name: 'the last index must make a valid hostname',
    job: makeJob({ completionMode: 'Indexed', completions: 10 }, { name: 'a'.repeat(62) }),
    want: [
      `metadata.name: Invalid value: "${'a'.repeat(62)}": will not able to create pod with invalid DNS label: ${'a'.repeat(62)}-9`,
    ],
  },
  {
    name: 'a podFailurePolicy rule has onExitCodes or onPodConditions, not both nor neither',
    job: makeJob({
      podFailurePolicy: {
        rules: [
          {
            action: 'Ignore',
            onExitCodes: { operator: 'In', values: [1] },
            onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }],
          },
          { action: 'Ignore' },
        ],
      },
    }),
    want: [
      'spec.podFailurePolicy.rules[0]: Invalid value: specifying both OnExitCodes and OnPodConditions is not supported',
      'spec.podFailurePolicy.rules[1]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required',
    ],
  },
  {
    name: 'a rule action is required and one of the four',
    job: makeJob({
      podFailurePolicy: {
        rules: [
          { onExitCodes: { operator: 'In', values: [1] } },
          { action: 'Retry', onExitCodes: { operator: 'In', values: [1] } },
        ],
      },
    }),
    want: [
      'spec.podFailurePolicy.rules[0].action: Required value: valid values: ["Count" "FailIndex" "FailJob" "Ignore"]',
      'spec.podFailurePolicy.rules[1].action: Unsupported value: "Retry": supported values: "Count", "FailIndex", "FailJob", "Ignore"',
    ],
  },
  {
    name: 'FailIndex needs backoffLimitPerIndex',
    job: indexed({
      podFailurePolicy: { rules: [{ action: 'FailIndex', onExitCodes: { operator: 'In', values: [1] } }] },
    }),
    want: [
      'spec.podFailurePolicy.rules[0].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set',
    ],
  },
  {
    name: 'the exit code operator is In or NotIn',
    job: makeJob({ ...exitCodes('Equals', [1]) }),
    want: [
      'spec.podFailurePolicy.rules[0].onExitCodes.operator: Unsupported value: "Equals": supported values: "In", "NotIn"',
    ],
  },
  {
    name: 'a missing operator is required',
    job: makeJob({ ...exitCodes('', [1]) }),
    want: [
      'spec.podFailurePolicy.rules[0].onExitCodes.operator: Required value: valid values: ["In" "NotIn"]',
    ],
  },
  {
    name: 'exit codes are unique and sorted, and 0 is no failure for In',
    job: makeJob({ ...exitCodes('In', [0, 5, 3, 3]) }),
    want: [
      'spec.podFailurePolicy.rules[0].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator',
      'spec.podFailurePolicy.rules[0].onExitCodes.values[3]: Duplicate value: 3',
      'spec.podFailurePolicy.rules[0].onExitCodes.values: Invalid value: []int32{0, 5, 3, 3}: must be ordered',
    ],
  },
  {
    name: 'NotIn may list 0',
    job: makeJob({ ...exitCodes('NotIn', [0]) }),
    want: [],
  },
  {
    name: 'at least one exit code, at most 255',
    job: makeJob({
      podFailurePolicy: {
        rules: [
          { action: 'Count', onExitCodes: { operator: 'In', values: [] } },
          {
            action: 'Count',
            onExitCodes: { operator: 'NotIn', values: Array.from({ length: 256 }, (_, i) => i) },
          },
        ],
      },
    }),
    want: [
      'spec.podFailurePolicy.rules[0].onExitCodes.values: Invalid value: []int32{}: at least one value is required',
      'spec.podFailurePolicy.rules[1].onExitCodes.values: Too many: 256: must have at most 255 items',
    ],
  },
  {
    name: 'the containerName must be a container or init container of the template',
    job: makeJob({ ...exitCodes('In', [1], { containerName: 'sidecar' }) }),
    want: [
      'spec.podFailurePolicy.rules[0].onExitCodes.containerName: Invalid value: "sidecar": must be one of the container or initContainer names in the pod template',
    ],
  },
  {
    name: 'an init container may be named',
    job: makeJob({ ...exitCodes('In', [1], { containerName: 'setup' }) }),
    want: [],
  },
  {
    name: 'a pod condition pattern has a qualified type and a status',
    job: makeJob({
      podFailurePolicy: {
        rules: [
          {
            action: 'Ignore',
            onPodConditions: [
              { type: 'Bad Type', status: 'True' },
              { type: 'Ready' },
              { type: 'Ready', status: 'Maybe' },
            ],
          },
        ],
      },
    }),
    want: [
      `spec.podFailurePolicy.rules[0].onPodConditions[0].type: Invalid value: "Bad Type": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
      'spec.podFailurePolicy.rules[0].onPodConditions[1].status: Required value: valid values: ["False" "True" "Unknown"]',
      'spec.podFailurePolicy.rules[0].onPodConditions[2].status: Unsupported value: "Maybe": supported values: "False", "True", "Unknown"',
    ],
  },
  {
    name: 'at most 20 podFailurePolicy rules',
    job: makeJob({
      podFailurePolicy: {
        rules: Array.from({ length: 21 }, () => ({
          action: 'Count',
          onExitCodes: { operator: 'In', values: [1] },
        })),
      },
    }),
    want: ['spec.podFailurePolicy.rules: Too many: 21: must have at most 20 items'],
  },
  {
    name: 'a podFailurePolicy needs restartPolicy Never',
    job: withRestart(makeJob({ ...exitCodes('In', [1]) }), 'OnFailure'),
    want: [
      'spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified',
    ],
  },
  {
    name: 'with a podFailurePolicy, podReplacementPolicy can only be Failed',
    job: makeJob({ ...exitCodes('In', [1]), podReplacementPolicy: 'TerminatingOrFailed' }),
    want: ['spec.podReplacementPolicy: Unsupported value: "TerminatingOrFailed": supported values: "Failed"'],
  },
  {
    name: 'an unknown podReplacementPolicy is not supported',
    job: makeJob({ podReplacementPolicy: 'Never' }),
    want: [
      'spec.podReplacementPolicy: Unsupported value: "Never": supported values: "Failed", "TerminatingOrFailed"',
    ],
  },
  {
    name: 'a Job pod never restarts Always (what an absent restartPolicy defaults to)',
    job: withRestart(makeJob(), 'Always'),
    want: ['spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"'],
  },
  {
    name: 'a successPolicy needs completionMode Indexed',
    job: makeJob({ successPolicy: { rules: [{ succeededCount: 1 }] } }),
    want: [
      'spec.successPolicy: Invalid value: {"rules":[{"succeededCount":1}]}: requires indexed completion mode',
    ],
  },
  {
    name: 'a successPolicy has 1 to 20 rules, each with succeededIndexes or succeededCount',
    job: indexed({ successPolicy: { rules: [{}] } }),
    want: [
      'spec.successPolicy.rules[0]: Required value: at least one of succeededCount or succeededIndexes must be specified',
    ],
  },
  {
    name: 'an empty successPolicy is refused',
    job: indexed({ successPolicy: { rules: [] } }),
    want: [
      'spec.successPolicy.rules: Required value: at least one rules must be specified when the successPolicy is specified',
    ],
  },
  {
    name: 'succeededIndexes must be an ascending interval list below completions',
    job: indexed({
      successPolicy: {
        rules: [
          { succeededIndexes: '0,4' },
          { succeededIndexes: '2,1' },
          { succeededIndexes: '1-x' },
          { succeededIndexes: '0-1-2' },
        ],
      },
    }),
    want: [
      'spec.successPolicy.rules[0].succeededIndexes: Invalid value: "0,4": error parsing succeededIndexes: too large index: "4"',
      'spec.successPolicy.rules[1].succeededIndexes: Invalid value: "2,1": error parsing succeededIndexes: non-increasing order, previous: 2, current: 1',
      'spec.successPolicy.rules[2].succeededIndexes: Invalid value: "1-x": error parsing succeededIndexes: cannot convert string to integer for index: "x"',
      `spec.successPolicy.rules[3].succeededIndexes: Invalid value: "0-1-2": error parsing succeededIndexes: the fragment "0-1-2" violates the requirement that an index interval can have at most two parts separated by '-'`,
    ],
  },
  {
    name: 'succeededCount is at most completions and at most the indexes named',
    job: indexed({
      successPolicy: {
        rules: [
          { succeededCount: 5 },
          { succeededIndexes: '1-2', succeededCount: 3 },
          { succeededCount: -1 },
        ],
      },
    }),
    want: [
      'spec.successPolicy.rules[0].succeededCount: Invalid value: 5: must be less than or equal to 4 (the number of specified completions)',
      'spec.successPolicy.rules[1].succeededCount: Invalid value: 3: must be less than or equal to 2 (the number of indexes in the specified succeededIndexes field)',
      'spec.successPolicy.rules[2].succeededCount: Invalid value: -1: must be greater than or equal to 0',
    ],
  },
  {
    name: 'managedBy is a domain-prefixed path of at most 63 characters',
    job: makeJob({ managedBy: 'kueue' }),
    want: ['spec.managedBy: Invalid value: "kueue": must be a domain-prefixed path (such as "acme.io/foo")'],
  },
  {
    name: 'a long managedBy is too long',
    job: makeJob({ managedBy: `example.com/${'x'.repeat(60)}` }),
    want: ['spec.managedBy: Too long: may not be more than 63 bytes'],
  },
]

for (const c of createCases) test(`create: ${c.name}`, () => assert.deepEqual(messages(c.job), c.want))

const suspendedFresh = makeJob({ suspend: true })
const updateCases: { name: string; prev: unknown; next: unknown; want: string[] }[] = [
  {
    name: 'completions of a NonIndexed Job are immutable',
    prev: makeJob(),
    next: makeJob({ completions: 2 }),
    want: ['spec.completions: Invalid value: 2: field is immutable'],
  },
  {
    name: 'completions of an Indexed Job change together with parallelism',
    prev: indexed(),
    next: indexed({ completions: 6, parallelism: 6 }),
    want: [],
  },
  {
    name: 'completions of an Indexed Job do not change alone',
    prev: indexed(),
    next: indexed({ completions: 6 }),
    want: ['spec.completions: Invalid value: 6: can only be modified in tandem with spec.parallelism'],
  },
  {
    name: 'completionMode, podFailurePolicy, backoffLimitPerIndex, managedBy and successPolicy are immutable',
    prev: indexed({ backoffLimitPerIndex: 1 }),
    next: makeJob({
      completionMode: 'NonIndexed',
      completions: 4,
      parallelism: 2,
      ...exitCodes('In', [1]),
      managedBy: 'example.com/queue',
    }),
    want: [
      'spec.completionMode: Invalid value: "NonIndexed": field is immutable',
      'spec.podFailurePolicy: Invalid value: {"rules":[{"action":"Count","onExitCodes":{"operator":"In","values":[1]}}]}: field is immutable',
      'spec.backoffLimitPerIndex: Invalid value: null: field is immutable',
      'spec.managedBy: Invalid value: "example.com/queue": field is immutable',
    ],
  },
  {
    name: 'maxFailedIndexes, parallelism, suspend and backoffLimit may change',
    prev: indexed({ backoffLimitPerIndex: 1, maxFailedIndexes: 1 }),
    next: indexed({
      backoffLimitPerIndex: 1,
      maxFailedIndexes: 2,
      parallelism: 3,
      suspend: true,
      backoffLimit: 1,
    }),
    want: [],
  },
  {
    name: 'the template of a running Job is immutable',
    prev: makeJob(),
    next: makeJob({
      template: {
        ...makeJob().spec.template,
        spec: { ...makeJob().spec.template.spec, nodeSelector: { disk: 'ssd' } },
      },
    }),
    want: [
      'spec.template: Invalid value: {"metadata":{"labels":{"batch.kubernetes.io/controller-uid":"u1"}},"spec":{"restartPolicy":"Never","initContainers":[{"name":"setup","image":"busybox"}],"containers":[{"name":"main","image":"busybox"}],"nodeSelector":{"disk":"ssd"}}}: field is immutable',
    ],
  },
  {
    name: 'a suspended Job that never started may change its scheduling directives',
    prev: suspendedFresh,
    next: makeJob({
      suspend: true,
      template: {
        metadata: {
          labels: { 'batch.kubernetes.io/controller-uid': 'u1', queue: 'a' },
          annotations: { x: 'y' },
        },
        spec: {
          ...makeJob().spec.template.spec,
          nodeSelector: { disk: 'ssd' },
          tolerations: [{ key: 'gpu', operator: 'Exists' }],
          schedulingGates: [{ name: 'example.com/wait' }],
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }],
              },
            },
          },
        },
      },
    }),
    want: [],
  },
  {
    name: 'a suspended Job that never started may not change its containers',
    prev: suspendedFresh,
    next: makeJob({
      suspend: true,
      template: {
        ...makeJob().spec.template,
        spec: { ...makeJob().spec.template.spec, containers: [{ name: 'main', image: 'alpine' }] },
      },
    }),
    want: [
      'spec.template: Invalid value: {"metadata":{"labels":{"batch.kubernetes.io/controller-uid":"u1"}},"spec":{"restartPolicy":"Never","initContainers":[{"name":"setup","image":"busybox"}],"containers":[{"name":"main","image":"alpine"}]}}: field is immutable',
    ],
  },
  {
    name: 'a suspended Job that started before may not change its scheduling directives',
    prev: makeJob({ suspend: true }, { status: { startTime: '2026-01-01T00:00:00Z' } }),
    next: makeJob({
      suspend: true,
      template: {
        ...makeJob().spec.template,
        spec: { ...makeJob().spec.template.spec, nodeSelector: { a: 'b' } },
      },
    }),
    want: [
      'spec.template: Invalid value: {"metadata":{"labels":{"batch.kubernetes.io/controller-uid":"u1"}},"spec":{"restartPolicy":"Never","initContainers":[{"name":"setup","image":"busybox"}],"containers":[{"name":"main","image":"busybox"}],"nodeSelector":{"a":"b"}}}: field is immutable',
    ],
  },
]

for (const c of updateCases)
  test(`update: ${c.name}`, () => assert.deepEqual(updateMessages(c.next, c.prev), c.want))

test('index interval lists count their indexes', () => {
  assert.equal(indexesFormat('', 3), 0)
  assert.equal(indexesFormat('0,2-4,7', 8), 5)
  assert.equal(indexesFormat('+1', 3), 1)
  assert.equal(indexesFormat('1,', 3), 'cannot convert string to integer for index: ""')
  assert.equal(indexesFormat('2-2', 3), 'non-increasing order, previous: 2, current: 2')
})

test('a CronJob jobTemplate follows the Job rules, and its selector is generated', () => {
  const cron = validatorFor('batch', 'cronjobs')
  assert.ok(cron)
  const jobSpec = makeJob({ backoffLimitPerIndex: 1 }).spec
  const got = cron
    .validate({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'c', namespace: 'default' },
      spec: {
        schedule: '@hourly',
        concurrencyPolicy: 'Allow',
        jobTemplate: { spec: { ...jobSpec, manualSelector: true } },
      },
    })
    .map(fieldErrorMessage)
  assert.deepEqual(got, [
    'spec.jobTemplate.spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode',
    'spec.jobTemplate.spec.selector: Invalid value: {"matchLabels":{"batch.kubernetes.io/controller-uid":"u1"}}: `selector` will be auto-generated',
    'spec.jobTemplate.spec.manualSelector: Unsupported value: true: supported values: "nil", "false"',
  ])
})
