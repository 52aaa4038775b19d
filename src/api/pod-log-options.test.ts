import assert from 'node:assert/strict'
import { test } from 'node:test'
import { errorBody } from './field-errors.ts'
import {
  podLogOptionsFromQuery,
  podLogQuery,
  PodLogQueryError,
  validatePodLogOptions,
} from './pod-log-options.ts'

const decodeCases: { name: string; query: string; want: object }[] = [
  { name: 'an empty query is no options', query: '', want: {} },
  {
    name: 'what kubectl logs -f --tail=2 --timestamps -c web sends',
    query: 'container=web&follow=true&tailLines=2&timestamps=true',
    want: { container: 'web', follow: true, tailLines: 2, timestamps: true },
  },
  {
    name: 'a boolean is false only for 0 and false, in any case',
    query: 'follow=FALSE&previous=0&timestamps=yes',
    want: { follow: false, previous: false, timestamps: true },
  },
  {
    name: 'sinceTime is kept as sent',
    query: 'sinceTime=2026-01-01T00:00:00Z&limitBytes=100',
    want: { sinceTime: '2026-01-01T00:00:00Z', limitBytes: 100 },
  },
]
for (const c of decodeCases) {
  test(`decoding: ${c.name}`, () => {
    assert.deepEqual(podLogOptionsFromQuery(new URLSearchParams(c.query)), c.want)
  })
}

test('decoding: an integer that is not one, or a time that is not RFC 3339, is a PodLogQueryError', () => {
  assert.throws(() => podLogOptionsFromQuery(new URLSearchParams('tailLines=ten')), {
    name: 'Error',
    code: 'BadQuery',
    message: 'strconv.ParseInt: parsing "ten": invalid syntax',
  })
  assert.throws(() => podLogOptionsFromQuery(new URLSearchParams('tailLines=')), PodLogQueryError)
  assert.throws(
    () => podLogOptionsFromQuery(new URLSearchParams('limitBytes=99999999999999999999')),
    /value out of range/,
  )
  assert.throws(() => podLogOptionsFromQuery(new URLSearchParams('sinceTime=yesterday')), PodLogQueryError)
})

const validationCases: { name: string; query: string; want: string[] }[] = [
  { name: 'tailLines 0 is fine (nothing of the past)', query: 'tailLines=0', want: [] },
  {
    name: 'a negative tailLines',
    query: 'tailLines=-1',
    want: ['tailLines: Invalid value: -1: must be greater than or equal to 0'],
  },
  {
    name: 'limitBytes below 1',
    query: 'limitBytes=0',
    want: ['limitBytes: Invalid value: 0: must be greater than 0'],
  },
  {
    name: 'sinceSeconds below 1',
    query: 'sinceSeconds=0',
    want: ['sinceSeconds: Invalid value: 0: must be greater than 0'],
  },
  {
    name: 'both sinceSeconds and sinceTime',
    query: 'sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z',
    want: [': Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified'],
  },
]
for (const c of validationCases) {
  test(`validation: ${c.name}`, () => {
    const errors = validatePodLogOptions(podLogOptionsFromQuery(new URLSearchParams(c.query)))
    assert.deepEqual(
      errors.map((e) => `${e.field}: ${errorBody(e)}`),
      c.want,
    )
  })
}

test('the query for the kubelet carries every option but the container', () => {
  const q = podLogQuery({
    container: 'web',
    follow: true,
    previous: false,
    timestamps: true,
    sinceTime: '2026-01-01T01:00:00+01:00',
    tailLines: 0,
    limitBytes: 10,
  })
  assert.equal(
    q.toString(),
    'follow=true&timestamps=true&sinceTime=2026-01-01T00%3A00%3A00.000Z&tailLines=0&limitBytes=10',
  )
})
