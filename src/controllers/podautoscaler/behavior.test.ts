import assert from 'node:assert/strict'
import { test } from 'node:test'
import type {
  HorizontalPodAutoscalerBehavior,
  HPAScalingRules,
} from '../../api/generated/types/autoscaling-v2.ts'
import { FakeClock } from '../../base/clock.ts'
import { ScaleMemory } from './behavior.ts'

const seconds = 1000

/** spec.behavior as the apiserver defaults it when given (scale down's window left to the controller). */
function behavior(
  o: { scaleUp?: HPAScalingRules; scaleDown?: HPAScalingRules } = {},
): HorizontalPodAutoscalerBehavior {
  return {
    scaleUp: {
      stabilizationWindowSeconds: 0,
      selectPolicy: 'Max',
      policies: [
        { type: 'Pods', value: 4, periodSeconds: 15 },
        { type: 'Percent', value: 100, periodSeconds: 15 },
      ],
      ...o.scaleUp,
    },
    scaleDown: {
      selectPolicy: 'Max',
      policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
      ...o.scaleDown,
    },
  }
}

function setup(current: number) {
  const clock = new FakeClock()
  const memory = new ScaleMemory({ clock })
  memory.recordInitial('default/web', current)
  const args = (currentReplicas: number, proposed: number, min = 1, max = 100) => ({
    key: 'default/web',
    currentReplicas,
    proposed,
    minReplicas: min,
    maxReplicas: max,
  })
  return { clock, memory, args }
}

test('without behavior, a scale down waits for the highest recommendation of the last 5 minutes to age out', () => {
  const { clock, memory, args } = setup(5)
  const first = memory.normalize(args(5, 2))
  assert.equal(first.desired, 5)
  assert.equal(first.ableToScale.reason, 'ScaleDownStabilized')
  clock.advance(4 * 60 * seconds)
  assert.equal(memory.normalize(args(5, 3)).desired, 5, 'the initial 5 is still in the window')
  clock.advance(61 * seconds)
  const later = memory.normalize(args(5, 2))
  assert.equal(later.desired, 3, 'the 3 of a minute ago is the highest left')
  clock.advance(5 * 60 * seconds)
  const settled = memory.normalize(args(3, 2))
  assert.equal(settled.desired, 2)
  assert.deepEqual(settled.ableToScale, {
    reason: 'ReadyForNewScale',
    message: 'recommended size matches current size',
  })
})

test('without behavior, a scale up at most doubles (to at least 4) per sync, and stays within min and max', () => {
  const cases = [
    { current: 1, proposed: 10, max: 100, want: 4, reason: 'ScaleUpLimit' },
    { current: 3, proposed: 10, max: 100, want: 6, reason: 'ScaleUpLimit' },
    { current: 3, proposed: 10, max: 5, want: 5, reason: 'TooManyReplicas' },
    { current: 3, proposed: 5, max: 10, want: 5, reason: 'DesiredWithinRange' },
  ]
  for (const c of cases) {
    const { memory, args } = setup(c.current)
    const n = memory.normalize(args(c.current, c.proposed, 1, c.max))
    assert.equal(n.desired, c.want, `${c.current} → ${c.proposed}`)
    assert.equal(n.scalingLimited.reason, c.reason)
    assert.equal(n.scalingLimited.status, c.want === c.proposed ? 'False' : 'True')
  }
  const { clock, memory, args } = setup(3)
  clock.advance(6 * 60 * seconds)
  const tooFew = memory.normalize(args(3, 1, 2, 10))
  assert.equal(tooFew.desired, 2)
  assert.equal(tooFew.scalingLimited.reason, 'TooFewReplicas')
})

test('with the default behavior, a scale up adds at most max(4 pods, 100 %) per 15 s', () => {
  const { clock, memory, args } = setup(2)
  const b = behavior()
  const first = memory.normalizeWithBehavior(args(2, 20), b)
  assert.equal(first.desired, 6)
  assert.deepEqual(first.scalingLimited, {
    status: 'True',
    reason: 'ScaleUpLimit',
    message: 'the desired replica count is increasing faster than the maximum scale rate',
  })
  memory.recordScale('default/web', b, 2, 6)
  clock.advance(10 * seconds)
  assert.equal(
    memory.normalizeWithBehavior(args(6, 20), b).desired,
    6,
    'the period started at 2 allows 6 at most',
  )
  clock.advance(6 * seconds)
  assert.equal(memory.normalizeWithBehavior(args(6, 20), b).desired, 12, 'a new period: 100 % of 6')
})

test('Pods policies count what was removed within their period', () => {
  const { clock, memory, args } = setup(10)
  const b = behavior({
    scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] },
  })
  const first = memory.normalizeWithBehavior(args(10, 2), b)
  assert.equal(first.desired, 9)
  assert.equal(first.scalingLimited.reason, 'ScaleDownLimit')
  memory.recordScale('default/web', b, 10, 9)
  clock.advance(30 * seconds)
  assert.equal(memory.normalizeWithBehavior(args(9, 2), b).desired, 9)
  clock.advance(31 * seconds)
  assert.equal(memory.normalizeWithBehavior(args(9, 2), b).desired, 8)
  assert.equal(memory.normalizeWithBehavior(args(3, 1, 2), b).desired, 2, 'but never below minReplicas')
})

test('selectPolicy Min picks the policy that changes least; Disabled stops that direction', () => {
  const { memory, args } = setup(10)
  const min = behavior({ scaleUp: { selectPolicy: 'Min' } })
  assert.equal(memory.normalizeWithBehavior(args(10, 50), min).desired, 14, 'min(10 + 4, 10 × 2)')
  const minDown = behavior({
    scaleDown: {
      stabilizationWindowSeconds: 0,
      selectPolicy: 'Min',
      policies: [
        { type: 'Pods', value: 2, periodSeconds: 15 },
        { type: 'Percent', value: 50, periodSeconds: 15 },
      ],
    },
  })
  assert.equal(memory.normalizeWithBehavior(args(10, 1), minDown).desired, 8, 'max(10 − 2, 10 × 50 %)')
  const disabled = behavior({ scaleDown: { stabilizationWindowSeconds: 0, selectPolicy: 'Disabled' } })
  const n = memory.normalizeWithBehavior(args(10, 1), disabled)
  assert.equal(n.desired, 10)
  assert.equal(n.scalingLimited.reason, 'ScaleDownLimit')
  const upDisabled = behavior({ scaleUp: { selectPolicy: 'Disabled' } })
  assert.equal(memory.normalizeWithBehavior(args(10, 50), upDisabled).desired, 10)
})

test('a scale-up window takes the lowest recommendation within it', () => {
  const { clock, memory, args } = setup(2)
  const b = behavior({ scaleUp: { stabilizationWindowSeconds: 60 } })
  clock.advance(10 * seconds)
  const held = memory.normalizeWithBehavior(args(2, 5), b)
  assert.equal(held.desired, 2, 'the initial 2 is within the minute')
  assert.deepEqual(held.ableToScale, {
    reason: 'ScaleUpStabilized',
    message: 'recent recommendations were lower than current one, applying the lowest recent recommendation',
  })
  clock.advance(30 * seconds)
  assert.equal(memory.normalizeWithBehavior(args(2, 8), b).desired, 2)
  clock.advance(21 * seconds)
  assert.equal(memory.normalizeWithBehavior(args(2, 8), b).desired, 5, 'the lowest left in the window is 5')
})

test("a behavior without a scale-down window uses the controller's (5 minutes by default)", () => {
  const { clock, memory, args } = setup(6)
  const b = behavior()
  assert.equal(memory.normalizeWithBehavior(args(6, 2), b).desired, 6)
  clock.advance(299 * seconds)
  assert.equal(memory.normalizeWithBehavior(args(6, 2), b).desired, 6)
  clock.advance(2 * seconds)
  assert.equal(memory.normalizeWithBehavior(args(6, 2), b).desired, 2)
})

test('a policy period counts scale ups and scale downs alike', () => {
  const { clock, memory, args } = setup(10)
  const b = behavior({
    scaleUp: { policies: [{ type: 'Pods', value: 2, periodSeconds: 60 }] },
    scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 5, periodSeconds: 60 }] },
  })
  assert.equal(memory.normalizeWithBehavior(args(10, 5), b).desired, 5)
  memory.recordScale('default/web', b, 10, 5)
  clock.advance(10 * seconds)
  assert.equal(memory.normalizeWithBehavior(args(5, 20), b).desired, 12, 'the period began at 10: 10 + 2')
})

test('a forgotten HPA starts over from its current replicas', () => {
  const { memory, args } = setup(8)
  assert.equal(memory.normalize(args(8, 2)).desired, 8)
  memory.forget('default/web')
  memory.recordInitial('default/web', 2)
  assert.equal(memory.normalize(args(2, 2)).desired, 2)
})
