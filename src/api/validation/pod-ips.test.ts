import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { GoSyntaxValue, type FieldError } from '../field-errors.ts'
import type { PodStatus } from '../generated/types/core-v1.ts'
import { validatePodStatusUpdate } from './core.ts'
import { parseIPSloppy } from './ip.ts'
import { reconcilePodIPs } from './pod-ips.ts'

/** A pod with this status (an update keeps the spec, so only the status matters here). */
const pod = (status: PodStatus): Record<string, unknown> => ({
  metadata: { name: 'p', namespace: 'default' },
  spec: { restartPolicy: 'Always', containers: [{ name: 'c', image: 'nginx' }] },
  status: { phase: 'Running', qosClass: 'BestEffort', ...status },
})

const ips = (...list: string[]): { ip: string }[] => list.map((ip) => ({ ip }))

/** An error as compared here: a list value as Go prints it. */
function shape(e: FieldError): { type: string; field: string; value?: unknown; detail: string } {
  const out: { type: string; field: string; value?: unknown; detail: string } = {
    type: e.type,
    field: e.field,
    detail: e.detail,
  }
  if ('value' in e) out.value = e.value instanceof GoSyntaxValue ? e.value.text : e.value
  return out
}

const notAnIP = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'
const oneIPPerFamily = 'may specify no more than one IP for each IP family'

describe('pods/status: pod and host IPs', () => {
  const running: PodStatus = {
    podIP: '10.0.0.1',
    podIPs: ips('10.0.0.1'),
    hostIP: '192.168.0.1',
    hostIPs: ips('192.168.0.1'),
  }
  const cases: {
    name: string
    status: PodStatus
    old?: PodStatus
    want: ReturnType<typeof shape>[]
  }[] = [
    { name: 'a single-stack pod on a single-stack node is valid', status: running, want: [] },
    {
      name: 'one IPv4 and one IPv6 address each is valid, in either order',
      status: {
        podIP: 'fd00::1',
        podIPs: ips('fd00::1', '10.0.0.1'),
        hostIP: '192.168.0.1',
        hostIPs: ips('192.168.0.1', 'fd00:1::1'),
      },
      want: [],
    },
    {
      name: 'legacy forms pass while StrictIPCIDRValidation is off: leading zeros, IPv4-mapped, uppercase',
      status: {
        podIP: '010.000.000.001',
        podIPs: ips('010.000.000.001', 'FD00:0:0:0:0:0:0:1'),
        hostIP: '::ffff:192.168.0.1',
        hostIPs: ips('::ffff:192.168.0.1'),
      },
      want: [],
    },
    {
      name: 'an invalid pod IP is reported at its index',
      status: { podIP: 'not-an-ip', podIPs: ips('not-an-ip') },
      want: [{ type: 'FieldValueInvalid', field: 'status.podIPs[0]', value: 'not-an-ip', detail: notAnIP }],
    },
    {
      name: 'a zone is not part of an IP address',
      status: { podIP: 'fe80::1%eth0' },
      want: [
        { type: 'FieldValueInvalid', field: 'status.podIPs[0]', value: 'fe80::1%eth0', detail: notAnIP },
      ],
    },
    {
      name: 'two IPv4 addresses are refused on the whole list, printed as Go prints []core.PodIP',
      status: { podIP: '10.0.0.1', podIPs: ips('10.0.0.1', '10.0.0.2') },
      want: [
        {
          type: 'FieldValueInvalid',
          field: 'status.podIPs',
          value: '[]core.PodIP{core.PodIP{IP:"10.0.0.1"}, core.PodIP{IP:"10.0.0.2"}}',
          detail: oneIPPerFamily,
        },
      ],
    },
    {
      name: 'an IPv4-mapped IPv6 address counts as IPv4',
      status: { podIP: '::ffff:10.0.0.1', podIPs: ips('::ffff:10.0.0.1', '10.0.0.2') },
      want: [
        {
          type: 'FieldValueInvalid',
          field: 'status.podIPs',
          value: '[]core.PodIP{core.PodIP{IP:"::ffff:10.0.0.1"}, core.PodIP{IP:"10.0.0.2"}}',
          detail: oneIPPerFamily,
        },
      ],
    },
    {
      name: 'three IPs are too many even with both families',
      status: { podIP: '10.0.0.1', podIPs: ips('10.0.0.1', 'fd00::1', '10.0.0.2') },
      want: [
        {
          type: 'FieldValueInvalid',
          field: 'status.podIPs',
          value:
            '[]core.PodIP{core.PodIP{IP:"10.0.0.1"}, core.PodIP{IP:"fd00::1"}, core.PodIP{IP:"10.0.0.2"}}',
          detail: oneIPPerFamily,
        },
      ],
    },
    {
      name: 'an invalid IP in a list of two also fails the dual-stack check, as an internal error',
      status: { podIP: '10.0.0.1', podIPs: ips('10.0.0.1', 'bad') },
      want: [
        { type: 'FieldValueInvalid', field: 'status.podIPs[1]', value: 'bad', detail: notAnIP },
        {
          type: 'InternalError',
          field: 'status.podIPs',
          detail: 'failed to check for dual stack with error:invalid IP[1]: bad',
        },
        {
          type: 'FieldValueInvalid',
          field: 'status.podIPs',
          value: '[]core.PodIP{core.PodIP{IP:"10.0.0.1"}, core.PodIP{IP:"bad"}}',
          detail: oneIPPerFamily,
        },
      ],
    },
    {
      name: 'an invalid IP the pod already had may stay (ratcheting)',
      status: { ...running, podIP: 'bad', podIPs: ips('bad'), hostIPs: ips('192.168.0.1') },
      old: { podIP: 'bad', podIPs: ips('bad') },
      want: [],
    },
    {
      name: 'ratcheting keeps only the old values: a new invalid IP is still refused',
      status: { podIP: 'worse', podIPs: ips('worse') },
      old: { podIP: 'bad', podIPs: ips('bad') },
      want: [{ type: 'FieldValueInvalid', field: 'status.podIPs[0]', value: 'worse', detail: notAnIP }],
    },
    {
      name: 'ratcheting does not spare a kept invalid IP from the dual-stack check',
      status: { podIP: 'bad', podIPs: ips('bad', 'fd00::1') },
      old: { podIP: 'bad', podIPs: ips('bad') },
      want: [
        {
          type: 'InternalError',
          field: 'status.podIPs',
          detail: 'failed to check for dual stack with error:invalid IP[0]: bad',
        },
        {
          type: 'FieldValueInvalid',
          field: 'status.podIPs',
          value: '[]core.PodIP{core.PodIP{IP:"bad"}, core.PodIP{IP:"fd00::1"}}',
          detail: oneIPPerFamily,
        },
      ],
    },
    {
      name: 'hostIPs[0] must equal hostIP',
      status: { hostIP: '192.168.0.1', hostIPs: ips('192.168.0.2') },
      want: [
        {
          type: 'FieldValueInvalid',
          field: 'status.hostIPs[0].ip',
          value: '192.168.0.2',
          detail: 'must be equal to `hostIP`',
        },
      ],
    },
    {
      name: 'hostIPs without hostIP is a mismatch too (nothing fills hostIP in)',
      status: { hostIPs: ips('192.168.0.1') },
      want: [
        {
          type: 'FieldValueInvalid',
          field: 'status.hostIPs[0].ip',
          value: '192.168.0.1',
          detail: 'must be equal to `hostIP`',
        },
      ],
    },
    {
      name: 'a hostIP without hostIPs is not checked at all',
      status: { hostIP: 'not-an-ip' },
      want: [],
    },
    {
      name: 'host IPs follow the pod IP rules, printed as []core.HostIP',
      status: { hostIP: 'bad', hostIPs: ips('bad', '192.168.0.2', '192.168.0.3') },
      want: [
        { type: 'FieldValueInvalid', field: 'status.hostIPs[0]', value: 'bad', detail: notAnIP },
        {
          type: 'InternalError',
          field: 'status.hostIPs',
          detail: 'failed to check for dual stack with error:invalid IP[0]: bad',
        },
        {
          type: 'FieldValueInvalid',
          field: 'status.hostIPs',
          value:
            '[]core.HostIP{core.HostIP{IP:"bad"}, core.HostIP{IP:"192.168.0.2"}, core.HostIP{IP:"192.168.0.3"}}',
          detail: oneIPPerFamily,
        },
      ],
    },
    {
      name: 'a podIP that differs from podIPs[0] replaces the list, so only podIP is validated',
      status: { podIP: '10.0.0.1', podIPs: ips('bad', '10.0.0.3') },
      want: [],
    },
    {
      name: 'a podIP without podIPs is validated as podIPs[0]',
      status: { podIP: '10.0.0.256' },
      want: [{ type: 'FieldValueInvalid', field: 'status.podIPs[0]', value: '10.0.0.256', detail: notAnIP }],
    },
    {
      name: 'podIPs without podIP are taken as they are',
      status: { podIPs: ips('10.0.0.1', '10.0.0.2') },
      want: [
        {
          type: 'FieldValueInvalid',
          field: 'status.podIPs',
          value: '[]core.PodIP{core.PodIP{IP:"10.0.0.1"}, core.PodIP{IP:"10.0.0.2"}}',
          detail: oneIPPerFamily,
        },
      ],
    },
  ]
  for (const c of cases) {
    test(c.name, () => {
      const errs = validatePodStatusUpdate(pod(c.status), pod(c.old ?? {}))
      assert.deepEqual(errs.map(shape), c.want)
    })
  }
})

describe('podIP and podIPs as a client reads them back', () => {
  const cases: { name: string; status: PodStatus; want: PodStatus }[] = [
    {
      name: 'podIP and a podIPs that starts with it stay as they are',
      status: { podIP: '10.0.0.1', podIPs: ips('10.0.0.1', 'fd00::1') },
      want: { podIP: '10.0.0.1', podIPs: ips('10.0.0.1', 'fd00::1') },
    },
    {
      name: 'podIP wins over a podIPs that disagrees, and the rest of the list is dropped',
      status: { podIP: '10.0.0.1', podIPs: ips('10.0.0.2', 'fd00::1') },
      want: { podIP: '10.0.0.1', podIPs: ips('10.0.0.1') },
    },
    {
      name: 'a podIP alone becomes the list',
      status: { podIP: '10.0.0.1' },
      want: { podIP: '10.0.0.1', podIPs: ips('10.0.0.1') },
    },
    {
      name: 'podIPs alone set podIP to the first',
      status: { podIPs: ips('fd00::1', '10.0.0.1') },
      want: { podIP: 'fd00::1', podIPs: ips('fd00::1', '10.0.0.1') },
    },
    {
      name: 'an empty podIP and list are dropped',
      status: { podIP: '', podIPs: [] },
      want: {},
    },
    {
      name: 'hostIP and hostIPs are left alone',
      status: { hostIP: '192.168.0.1', hostIPs: ips('192.168.0.2') },
      want: { hostIP: '192.168.0.1', hostIPs: ips('192.168.0.2') },
    },
  ]
  for (const c of cases) {
    test(c.name, () => {
      const status = structuredClone(c.status)
      reconcilePodIPs(status)
      assert.deepEqual(status, c.want)
    })
  }
})

describe('IP parsing of legacy fields (netutils.ParseIPSloppy)', () => {
  const cases: { ip: string; valid: boolean }[] = [
    { ip: '10.9.8.7', valid: true },
    { ip: '010.009.008.007', valid: true },
    { ip: '0000000010.0.0.1', valid: true },
    { ip: '2001:db8::ffff', valid: true },
    { ip: '2001:DB8:0:0:0:0:0:FFFF', valid: true },
    { ip: '::', valid: true },
    { ip: '::1', valid: true },
    { ip: '1::', valid: true },
    { ip: '::ffff:1.2.3.4', valid: true },
    { ip: '::1.2.3.4', valid: true },
    { ip: '0:0:0:0:0:ffff:1.2.3.4', valid: true },
    { ip: '00000001::1', valid: true },
    { ip: '', valid: false },
    { ip: '10.0.0', valid: false },
    { ip: '10.0.0.1.', valid: false },
    { ip: '10.0.0.256', valid: false },
    { ip: '10.0.0.1/32', valid: false },
    { ip: ' 10.0.0.1', valid: false },
    { ip: 'fe80::1%eth0', valid: false },
    { ip: '[fd00::1]', valid: false },
    { ip: 'fd00::1:', valid: false },
    { ip: '1:2:3:4:5:6:7:8:9', valid: false },
    { ip: '1:2:3:4:5:6:7::8', valid: false },
    { ip: '1::2::3', valid: false },
    { ip: '10000::1', valid: false },
    { ip: '1:2:3:4:5:6:1.2.3.4:5', valid: false },
    { ip: '1:2:3:1.2.3.4', valid: false },
  ]
  for (const c of cases) {
    test(`${JSON.stringify(c.ip)} is ${c.valid ? 'an IP' : 'not an IP'}`, () => {
      assert.equal(parseIPSloppy(c.ip) !== undefined, c.valid)
    })
  }

  test('addresses parse to the bytes Go gives them', () => {
    assert.deepEqual([...(parseIPSloppy('010.1.2.3') ?? [])].slice(10), [0xff, 0xff, 10, 1, 2, 3])
    assert.deepEqual(
      [...(parseIPSloppy('1:2::ff') ?? [])],
      [0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff],
    )
  })
})
