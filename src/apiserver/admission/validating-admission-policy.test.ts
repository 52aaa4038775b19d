import assert from 'node:assert/strict'
import { test } from 'node:test'
import type {
  ValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding,
} from '../../api/generated/types/admissionregistration-v1.ts'
import type { AdmissionAttributes } from './admission.ts'
import { validatingAdmissionPolicyPlugin } from './validating-admission-policy.ts'

const policy = (spec: ValidatingAdmissionPolicy['spec']): ValidatingAdmissionPolicy => ({
  metadata: { name: 'p' },
  spec: {
    failurePolicy: 'Fail',
    matchConstraints: {
      matchPolicy: 'Equivalent',
      resourceRules: [
        { operations: ['CREATE'], apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments'] },
      ],
    },
    ...spec,
  },
})
const binding = (actions: string[]): ValidatingAdmissionPolicyBinding => ({
  metadata: { name: 'b' },
  spec: { policyName: 'p', validationActions: actions },
})

function deployment(replicas: number): AdmissionAttributes {
  return {
    operation: 'CREATE',
    group: 'apps',
    version: 'v1',
    resource: 'deployments',
    subresource: '',
    kind: 'Deployment',
    namespace: 'default',
    name: 'web',
    object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas } },
    oldObject: undefined,
    dryRun: false,
    user: { name: 'alice', groups: [] },
    warnings: [],
  }
}

function plugin(p: ValidatingAdmissionPolicy, b: ValidatingAdmissionPolicyBinding) {
  return validatingAdmissionPolicyPlugin({
    policies: () => [p],
    bindings: () => [b],
    namespaceLabels: () => ({}),
    namespace: async () => ({ metadata: { name: 'default', labels: { env: 'test' } } }),
    paramStore: () => undefined,
  })
}

const validate = (p: ReturnType<typeof plugin>, a: AdmissionAttributes) =>
  p.validate?.(a) ?? Promise.resolve()

test('a false validation denies with the policy message, as Kubernetes words it', async () => {
  const p = plugin(
    policy({ validations: [{ expression: 'object.spec.replicas <= 3', message: 'too many' }] }),
    binding(['Deny']),
  )
  await validate(p, deployment(2))
  await assert.rejects(
    validate(p, deployment(5)),
    (err: { status: { message: string; code: number; reason: string } }) => {
      assert.equal(
        err.status.message,
        `deployments.apps "web" is forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' denied request: too many`,
      )
      assert.equal(err.status.code, 422)
      assert.equal(err.status.reason, 'Invalid')
      return true
    },
  )
})

test('messageExpression, variables, namespaceObject and reason', async () => {
  const p = plugin(
    policy({
      variables: [{ name: 'limit', expression: "namespaceObject.metadata.labels.env == 'test' ? 2 : 10" }],
      validations: [
        {
          expression: 'object.spec.replicas <= variables.limit',
          messageExpression: "'at most ' + string(variables.limit) + ' replicas'",
          reason: 'Forbidden',
        },
      ],
    }),
    binding(['Deny']),
  )
  await assert.rejects(validate(p, deployment(3)), (err: { status: { message: string; code: number } }) => {
    assert.match(err.status.message, /denied request: at most 2 replicas$/)
    assert.equal(err.status.code, 403)
    return true
  })
})

test('without a message the expression is quoted', async () => {
  const p = plugin(policy({ validations: [{ expression: 'object.spec.replicas < 1' }] }), binding(['Deny']))
  await assert.rejects(
    validate(p, deployment(1)),
    /denied request: failed expression: object.spec.replicas < 1$/,
  )
})

test('Warn adds a warning instead of denying', async () => {
  const p = plugin(
    policy({ validations: [{ expression: 'object.spec.replicas <= 3', message: 'too many' }] }),
    binding(['Warn']),
  )
  const a = deployment(5)
  await validate(p, a)
  assert.deepEqual(a.warnings, [
    "Validation failed for ValidatingAdmissionPolicy 'p' with binding 'b': too many",
  ])
})

test('an evaluation error denies under Fail and is ignored under Ignore', async () => {
  const fail = plugin(policy({ validations: [{ expression: 'object.spec.nothing > 1' }] }), binding(['Deny']))
  await assert.rejects(
    validate(fail, deployment(1)),
    /denied request: expression 'object.spec.nothing > 1' resulted in error/,
  )
  const ignore = plugin(
    policy({ failurePolicy: 'Ignore', validations: [{ expression: 'object.spec.nothing > 1' }] }),
    binding(['Deny']),
  )
  await validate(ignore, deployment(1))
})

test('match conditions and excluded rules keep a policy out', async () => {
  const p = plugin(
    policy({
      matchConditions: [{ name: 'big', expression: 'object.spec.replicas > 100' }],
      validations: [{ expression: 'false' }],
    }),
    binding(['Deny']),
  )
  await validate(p, deployment(5))
  const excluded = plugin(
    policy({
      matchConstraints: {
        matchPolicy: 'Equivalent',
        resourceRules: [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*'] }],
        excludeResourceRules: [
          { operations: ['*'], apiGroups: ['apps'], apiVersions: ['*'], resources: ['deployments'] },
        ],
      },
      validations: [{ expression: 'false' }],
    }),
    binding(['Deny']),
  )
  await validate(excluded, deployment(5))
})
