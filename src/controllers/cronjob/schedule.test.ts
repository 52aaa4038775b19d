import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CronSyntaxError, formatInZone, parseCronSchedule } from './schedule.ts'

const at = (s: string) => Date.parse(s)
const iso = (ms: number | undefined) => (ms === undefined ? 'never' : new Date(ms).toISOString())

const nextCases = [
  {
    name: 'every 15 minutes',
    schedule: '*/15 * * * *',
    after: '2026-01-01T12:00:00Z',
    want: '2026-01-01T12:15:00.000Z',
  },
  {
    name: 'a minute that has just begun is not next',
    schedule: '* * * * *',
    after: '2026-01-01T12:00:30Z',
    want: '2026-01-01T12:01:00.000Z',
  },
  {
    name: 'weekdays by name (1 January 2026 is a Thursday)',
    schedule: '0 9 * * MON-FRI',
    after: '2026-01-02T10:00:00Z',
    want: '2026-01-05T09:00:00.000Z',
  },
  {
    name: 'Sunday written as 7',
    schedule: '0 0 * * 7',
    after: '2026-01-01T00:00:00Z',
    want: '2026-01-04T00:00:00.000Z',
  },
  {
    name: 'a start with a step runs to the end of the range',
    schedule: '5/20 * * * *',
    after: '2026-01-01T12:06:00Z',
    want: '2026-01-01T12:25:00.000Z',
  },
  {
    name: 'a list of ranges',
    schedule: '0 1-2,22 * * *',
    after: '2026-01-01T03:00:00Z',
    want: '2026-01-01T22:00:00.000Z',
  },
  {
    name: 'month names',
    schedule: '0 0 1 mar,sep *',
    after: '2026-01-01T00:00:00Z',
    want: '2026-03-01T00:00:00.000Z',
  },
  {
    name: 'day of month and day of week both restricted: either runs',
    schedule: '0 0 13 * FRI',
    after: '2026-01-01T00:00:00Z',
    want: '2026-01-02T00:00:00.000Z',
  },
  {
    name: 'day of week unrestricted: day of month alone decides',
    schedule: '0 0 13 * *',
    after: '2026-01-01T00:00:00Z',
    want: '2026-01-13T00:00:00.000Z',
  },
  {
    name: '29 February waits for a leap year',
    schedule: '0 0 29 2 *',
    after: '2026-01-01T00:00:00Z',
    want: '2028-02-29T00:00:00.000Z',
  },
  { name: '31 February never comes', schedule: '0 0 31 2 *', after: '2026-01-01T00:00:00Z', want: 'never' },
  { name: '@hourly', schedule: '@hourly', after: '2026-01-01T12:00:00Z', want: '2026-01-01T13:00:00.000Z' },
  { name: '@daily', schedule: '@daily', after: '2026-01-01T12:00:00Z', want: '2026-01-02T00:00:00.000Z' },
  {
    name: '@midnight',
    schedule: '@midnight',
    after: '2026-01-01T12:00:00Z',
    want: '2026-01-02T00:00:00.000Z',
  },
  {
    name: '@weekly runs on Sunday',
    schedule: '@weekly',
    after: '2026-01-01T12:00:00Z',
    want: '2026-01-04T00:00:00.000Z',
  },
  { name: '@monthly', schedule: '@monthly', after: '2026-01-01T12:00:00Z', want: '2026-02-01T00:00:00.000Z' },
  { name: '@yearly', schedule: '@yearly', after: '2026-01-01T12:00:00Z', want: '2027-01-01T00:00:00.000Z' },
  {
    name: '@annually',
    schedule: '@annually',
    after: '2026-01-01T12:00:00Z',
    want: '2027-01-01T00:00:00.000Z',
  },
  {
    name: 'a time zone moves the hour',
    schedule: '0 9 * * *',
    zone: 'Europe/Berlin',
    after: '2026-01-01T00:00:00Z',
    want: '2026-01-01T08:00:00.000Z',
  },
  {
    name: 'summer time in the zone',
    schedule: '0 9 * * *',
    zone: 'Europe/Berlin',
    after: '2026-07-01T00:00:00Z',
    want: '2026-07-01T07:00:00.000Z',
  },
  {
    name: 'a TZ= prefix names the zone',
    schedule: 'TZ=Asia/Tokyo 0 9 * * *',
    after: '2026-01-01T00:00:00Z',
    want: '2026-01-02T00:00:00.000Z',
  },
  {
    name: 'CRON_TZ= too',
    schedule: 'CRON_TZ=Asia/Tokyo 0 9 * * *',
    after: '2026-01-01T00:00:00Z',
    want: '2026-01-02T00:00:00.000Z',
  },
  {
    name: 'a time skipped by spring-forward does not run that day',
    schedule: '30 2 * * *',
    zone: 'America/New_York',
    after: '2026-03-07T12:00:00Z',
    want: '2026-03-09T06:30:00.000Z',
  },
  {
    name: 'a time repeated by fall-back runs at the first',
    schedule: '30 1 * * *',
    zone: 'America/New_York',
    after: '2026-11-01T04:00:00Z',
    want: '2026-11-01T05:30:00.000Z',
  },
  {
    name: '... and at the second',
    schedule: '30 1 * * *',
    zone: 'America/New_York',
    after: '2026-11-01T05:30:00Z',
    want: '2026-11-01T06:30:00.000Z',
  },
]
for (const c of nextCases) {
  test(`next: ${c.name}`, () => {
    assert.equal(iso(parseCronSchedule(c.schedule, c.zone).next(at(c.after))), c.want)
  })
}

const errorCases = [
  { schedule: '* * * *', want: /expected exactly 5 fields, found 4/ },
  { schedule: '60 * * * *', want: /end of range \(60\) above maximum \(59\)/ },
  { schedule: '0 0 0 * *', want: /beginning of range \(0\) below minimum \(1\)/ },
  { schedule: '*/0 * * * *', want: /step of range should be a positive number/ },
  { schedule: 'x * * * *', want: /failed to parse int from x/ },
  { schedule: '@every 5m', want: /unrecognized descriptor/ },
  { schedule: '5-1 * * * *', want: /beyond end of range/ },
  { schedule: 'TZ=Mars/Olympus 0 0 * * *', want: /unknown time zone Mars\/Olympus/ },
]
for (const c of errorCases) {
  test(`refused: "${c.schedule}"`, () => {
    assert.throws(
      () => parseCronSchedule(c.schedule),
      (err: unknown) => err instanceof CronSyntaxError && c.want.test(err.message),
    )
  })
}

test('formatInZone writes RFC 3339 with the zone offset, Z in UTC', () => {
  assert.equal(formatInZone(at('2026-01-01T12:00:00Z'), 'UTC'), '2026-01-01T12:00:00Z')
  assert.equal(formatInZone(at('2026-01-01T12:00:00Z'), 'Europe/Berlin'), '2026-01-01T13:00:00+01:00')
  assert.equal(formatInZone(at('2026-07-01T12:00:00Z'), 'America/New_York'), '2026-07-01T08:00:00-04:00')
  assert.equal(formatInZone(at('2026-01-01T12:00:00Z'), 'Asia/Kolkata'), '2026-01-01T17:30:00+05:30')
})
