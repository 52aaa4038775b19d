/**
 * Cron schedules as CronJobs write them (the standard five fields of the cron library Kubernetes
 * uses): minute, hour, day of month, month, day of week; `*`, `?`, lists, ranges, steps
 * (`*\/15`, `10-40/10`, `5/20` = 5 to the end of the range by 20), month and day names
 * (JAN..DEC, SUN..SAT), 7 as Sunday, and the macros @yearly/@annually, @monthly, @weekly,
 * @daily/@midnight and @hourly. A `TZ=<zone> ` or `CRON_TZ=<zone> ` prefix names the time zone,
 * as does the CronJob's spec.timeZone; without either the schedule runs in UTC.
 *
 * Day of month and day of week: when both are restricted (neither starts with `*` or `?`), a day
 * matching either runs; otherwise both must match, as in the cron library.
 *
 * Times are wall-clock times of the zone (read through Intl): a time that does not exist on a
 * spring-forward day is skipped; one that happens twice on a fall-back day runs at both.
 */

export class CronSyntaxError extends Error {
  readonly code = 'CronSyntax'
}

export interface CronSchedule {
  /** The zone the fields are read in (an IANA name; UTC when none was given). */
  readonly timeZone: string
  /** The first activation strictly after `after` (ms since the epoch), if one comes within 5 years. */
  next(after: number): number | undefined
}

const macros: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
}

interface FieldSpec {
  min: number
  max: number
  names?: readonly string[]
}

const minuteField: FieldSpec = { min: 0, max: 59 }
const hourField: FieldSpec = { min: 0, max: 23 }
const domField: FieldSpec = { min: 1, max: 31 }
const monthField: FieldSpec = {
  min: 1,
  max: 12,
  names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
}
const dowField: FieldSpec = { min: 0, max: 6, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] }

interface Field {
  values: Set<number>
  /** Written as `*` or `?` (with no step above 1): unrestricted for the day-of-month/week rule. */
  star: boolean
}

/** Parses a schedule; `timeZone` (spec.timeZone) applies unless the schedule names its own. */
export function parseCronSchedule(schedule: string, timeZone?: string): CronSchedule {
  let text = schedule.trim()
  let zone = timeZone
  const tz = /^(?:CRON_)?TZ=(\S+)\s+(.*)$/.exec(text)
  if (tz) {
    zone = tz[1]
    text = (tz[2] ?? '').trim()
  } else if (/^(?:CRON_)?TZ=/.test(text)) {
    throw new CronSyntaxError(`missing schedule after time zone: ${schedule}`)
  }
  const zoneName = zone === undefined || zone === '' ? 'UTC' : zone
  const wall = wallClock(zoneName)
  if (text.startsWith('@')) {
    const expanded = macros[text]
    if (expanded === undefined) throw new CronSyntaxError(`unrecognized descriptor: ${text}`)
    text = expanded
  }
  const parts = text.split(/\s+/)
  if (parts.length !== 5)
    throw new CronSyntaxError(`expected exactly 5 fields, found ${parts.length}: ${text}`)
  const [minute, hour, dom, month, dow] = [
    parseField(parts[0] ?? '', minuteField),
    parseField(parts[1] ?? '', hourField),
    parseField(parts[2] ?? '', domField),
    parseField(parts[3] ?? '', monthField),
    parseField(parts[4] ?? '', { ...dowField, max: 7 }),
  ]
  if (dow.values.has(7)) {
    dow.values.delete(7)
    dow.values.add(0)
  }
  const dayMatches = (y: number, m: number, d: number): boolean => {
    const domOk = dom.values.has(d)
    const dowOk = dow.values.has(new Date(Date.UTC(y, m - 1, d)).getUTCDay())
    return dom.star || dow.star ? domOk && dowOk : domOk || dowOk
  }
  const hours = [...hour.values].sort((a, b) => a - b)
  const minutes = [...minute.values].sort((a, b) => a - b)
  return {
    timeZone: zoneName,
    next(after: number): number | undefined {
      // Start from the wall-clock minute after `after`, a little earlier to catch a repeated hour.
      const from = wall.fields(after - 2 * 3_600_000)
      const fromLocal = Date.UTC(from.year, from.month - 1, from.day, from.hour, from.minute)
      let y = from.year
      let m = from.month
      let d = from.day
      for (let days = 0; days < 5 * 366 + 2; days++) {
        if (!month.values.has(m)) {
          // Jump to the first day of the next month.
          d = 1
          m++
          if (m > 12) {
            m = 1
            y++
          }
          continue
        }
        if (d <= daysIn(y, m) && dayMatches(y, m, d)) {
          for (const h of hours)
            for (const min of minutes) {
              if (Date.UTC(y, m - 1, d, h, min) < fromLocal) continue
              for (const t of wall.instants(y, m, d, h, min)) if (t > after) return t
            }
        }
        d++
        if (d > daysIn(y, m)) {
          d = 1
          m++
          if (m > 12) {
            m = 1
            y++
          }
        }
      }
      return undefined
    },
  }
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

function parseField(text: string, f: FieldSpec): Field {
  const values = new Set<number>()
  let star = false
  for (const part of text.split(',')) {
    const [range = '', stepText, extra] = part.split('/')
    if (extra !== undefined) throw new CronSyntaxError(`too many slashes: ${part}`)
    let lo: number
    let hi: number
    let rangeStar = false
    if (range === '*' || range === '?') {
      lo = f.min
      hi = f.max === 7 ? 6 : f.max
      rangeStar = true
    } else {
      const bounds = range.split('-')
      if (bounds.length > 2) throw new CronSyntaxError(`too many hyphens: ${part}`)
      lo = value(bounds[0] ?? '', f)
      hi = bounds.length === 2 ? value(bounds[1] ?? '', f) : lo
    }
    let step = 1
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText)) throw new CronSyntaxError(`failed to parse int from ${stepText}`)
      step = Number(stepText)
      if (step === 0) throw new CronSyntaxError(`step of range should be a positive number: ${part}`)
      // `5/20`: from 5 to the end of the range.
      if (!rangeStar && !range.includes('-')) hi = f.max === 7 ? 6 : f.max
    }
    if (rangeStar && step === 1) star = true
    if (lo < f.min) throw new CronSyntaxError(`beginning of range (${lo}) below minimum (${f.min}): ${part}`)
    if (hi > f.max) throw new CronSyntaxError(`end of range (${hi}) above maximum (${f.max}): ${part}`)
    if (lo > hi) throw new CronSyntaxError(`beginning of range (${lo}) beyond end of range (${hi}): ${part}`)
    for (let v = lo; v <= hi; v += step) values.add(v)
  }
  return { values, star }
}

function value(text: string, f: FieldSpec): number {
  const named = f.names?.indexOf(text.toLowerCase()) ?? -1
  if (named >= 0) return named + f.min
  if (!/^\d+$/.test(text)) throw new CronSyntaxError(`failed to parse int from ${text}: invalid syntax`)
  return Number(text)
}

// --- wall-clock time of a zone, through Intl ----------------------------------------------------

interface WallFields {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
}

interface WallClock {
  fields(at: number): WallFields
  /** The instants (ascending) at which the zone's clocks read this minute: none, one or two. */
  instants(year: number, month: number, day: number, hour: number, minute: number): number[]
}

const clocks = new Map<string, WallClock>()

/** The wall clock of an IANA zone; an unknown zone is a CronSyntaxError. */
export function wallClock(zone: string): WallClock {
  const cached = clocks.get(zone)
  if (cached) return cached
  let format: Intl.DateTimeFormat
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
  } catch {
    throw new CronSyntaxError(`unknown time zone ${zone}`)
  }
  const fields = (at: number): WallFields => {
    const out: Record<string, number> = {}
    for (const p of format.formatToParts(at)) if (p.type !== 'literal') out[p.type] = Number(p.value)
    return {
      year: out.year ?? 1970,
      month: out.month ?? 1,
      day: out.day ?? 1,
      hour: out.hour ?? 0,
      minute: out.minute ?? 0,
      second: out.second ?? 0,
    }
  }
  // Offsets change only on quarter-hour boundaries, so one reading per quarter hour is exact.
  const offsets = new Map<number, number>()
  /** Wall time minus real time at `at` (the zone's UTC offset then), in ms. */
  const offset = (at: number): number => {
    const bucket = Math.floor(at / 900_000)
    const known = offsets.get(bucket)
    if (known !== undefined) return known
    const f = fields(bucket * 900_000)
    const o = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second) - bucket * 900_000
    if (offsets.size > 20_000) offsets.clear()
    offsets.set(bucket, o)
    return o
  }
  const clock: WallClock = {
    fields,
    instants(year, month, day, hour, minute) {
      const local = Date.UTC(year, month - 1, day, hour, minute)
      if (zone === 'UTC') return [local]
      // The offsets around this wall time: a day either side covers every transition. A
      // candidate is a real instant when the zone's offset then is the one it assumed.
      const candidates = new Set([local - offset(local - 86_400_000), local - offset(local + 86_400_000)])
      return [...candidates].filter((t) => offset(t) === local - t).sort((a, b) => a - b)
    },
  }
  clocks.set(zone, clock)
  return clock
}

/** RFC 3339 of an instant in a zone, with its offset (Z in UTC), as Go's time.RFC3339 writes it. */
export function formatInZone(at: number, zone: string): string {
  const f = wallClock(zone).fields(at)
  const pad = (n: number, w = 2) => String(n).padStart(w, '0')
  const local = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second)
  const offsetMin = Math.round((local - Math.floor(at / 1000) * 1000) / 60_000)
  const sign = offsetMin < 0 ? '-' : '+'
  const abs = Math.abs(offsetMin)
  const zoneText = offsetMin === 0 ? 'Z' : `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  return `${pad(f.year, 4)}-${pad(f.month)}-${pad(f.day)}T${pad(f.hour)}:${pad(f.minute)}:${pad(f.second)}${zoneText}`
}
