import type { Pod } from '../../api/generated/types/core-v1.ts'

/**
 * Completion indexes of an Indexed Job and the interval lists its status writes them in
 * (status.completedIndexes, status.failedIndexes, successPolicy's succeededIndexes): ascending,
 * comma-separated, runs of three or more consecutive indexes as `first-last` ("1,3-5,7"); two
 * consecutive ones are written apart ("1,2"), as Kubernetes writes them.
 */

/** The annotation (and label) naming a pod's completion index. */
export const completionIndexAnnotation = 'batch.kubernetes.io/job-completion-index'

/** Indexes parsed from an interval list. Refuses what is not one (a clear error). */
export function parseIndexes(list: string | undefined, limit = Infinity): Set<number> {
  const out = new Set<number>()
  const text = (list ?? '').trim()
  if (text === '') return out
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim())
    if (!m) throw new Error(`cannot parse index interval list "${text}": "${part}" is not an index or range`)
    const first = Number(m[1])
    const last = m[2] === undefined ? first : Number(m[2])
    if (last < first)
      throw new Error(`cannot parse index interval list "${text}": "${part}" ends before it starts`)
    for (let i = first; i <= Math.min(last, limit - 1); i++) out.add(i)
  }
  return out
}

/** The interval list of a set of indexes. */
export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b)
  const parts: string[] = []
  for (let i = 0; i < sorted.length;) {
    let j = i
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] ?? 0) + 1) j++
    const first = sorted[i] ?? 0
    const last = sorted[j] ?? 0
    if (last - first >= 2) parts.push(`${first}-${last}`)
    else for (let k = i; k <= j; k++) parts.push(String(sorted[k]))
    i = j + 1
  }
  return parts.join(',')
}

/** The completion index of a pod of an Indexed Job (annotation first, then label), if valid. */
export function podIndex(pod: Readonly<Pod>, completions: number): number | undefined {
  const raw =
    pod.metadata?.annotations?.[completionIndexAnnotation] ??
    pod.metadata?.labels?.[completionIndexAnnotation]
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined
  const n = Number(raw)
  return n < completions ? n : undefined
}
