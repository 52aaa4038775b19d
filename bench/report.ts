import { availableParallelism, totalmem } from 'node:os'

/** One benchmark figure, as ../shared/docs/bench-format.md defines it. */
export interface Result {
  subject: string
  metric: string
  value: number
  unit: string
}

export interface Report {
  bench: string
  startedAt: string
  machine: { cpus: number; memoryBytes: number; node: string }
  results: Result[]
}

export function newReport(bench: string): Report {
  return {
    bench,
    startedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine: { cpus: availableParallelism(), memoryBytes: totalmem(), node: process.version },
    results: [],
  }
}

/** The unit a metric name's suffix implies; a rate may be followed by its statistic (`pods_per_s_p99`). */
export function unitOf(metric: string): string {
  if (/_per_s(_avg|_p\d+)?$/.test(metric)) return '1/s'
  if (metric.endsWith('_ms')) return 'ms'
  if (metric.endsWith('_s')) return 's'
  if (metric.endsWith('_bytes')) return 'bytes'
  if (metric.endsWith('_ratio')) return 'ratio'
  return ''
}

export function result(subject: string, metric: string, value: number): Result {
  return { subject, metric, value: Math.round(value * 1000) / 1000, unit: unitOf(metric) }
}

/** The q-quantile (0..1) of samples, by nearest rank. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return NaN
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank] ?? NaN
}

/** Progress for the person watching; stdout carries only the JSON document. */
export function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`)
}
