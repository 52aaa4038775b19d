import type { PodSpec } from '../../../api/generated/types/core-v1.ts'
import type { ObjectMeta } from '../../../api/generated/types/meta-v1.ts'
import type { FieldError } from '../../../api/field-errors.ts'
import { podSecurityChecks, type Check, type CheckPod, type Forbidden, type Level } from './checks.ts'

export type { Level }

/**
 * Levels, versions and namespace labels of the Pod Security Standards, and the evaluator that
 * runs the checks of a level at a version (pod-security-admission's api and policy packages).
 */

/** A policy version: v1.<minor>, or latest (always the newest checks, whatever they become). */
export type PolicyVersion = { readonly minor: number } | 'latest'

export interface LevelVersion {
  readonly level: Level
  readonly version: PolicyVersion
}

export interface Policy {
  readonly enforce: LevelVersion
  readonly audit: LevelVersion
  readonly warn: LevelVersion
}

const labelPrefix = 'pod-security.kubernetes.io/'
export const enforceLevelLabel = `${labelPrefix}enforce`
export const enforceVersionLabel = `${labelPrefix}enforce-version`
export const auditLevelLabel = `${labelPrefix}audit`
export const auditVersionLabel = `${labelPrefix}audit-version`
export const warnLevelLabel = `${labelPrefix}warn`
export const warnVersionLabel = `${labelPrefix}warn-version`
/** Audit annotations carry this prefix (pod-security.kubernetes.io/enforce-policy, ...). */
export const auditAnnotationPrefix = labelPrefix

export const privilegedLatest: LevelVersion = { level: 'privileged', version: 'latest' }

/** The policy of a namespace without labels: everything allowed (the default configuration). */
export const defaultPolicy: Policy = {
  enforce: privilegedLatest,
  audit: privilegedLatest,
  warn: privilegedLatest,
}

export function versionString(v: PolicyVersion): string {
  return v === 'latest' ? 'latest' : `v1.${v.minor}`
}

/** `restricted:latest`, `baseline:v1.30`. */
export function levelVersionString(lv: LevelVersion): string {
  return `${lv.level}:${versionString(lv.version)}`
}

const levelOrder: Record<Level, number> = { privileged: 0, baseline: 1, restricted: 2 }

export function compareLevels(a: Level, b: Level): number {
  return levelOrder[a] - levelOrder[b]
}

export function sameLevelVersion(a: LevelVersion, b: LevelVersion): boolean {
  return a.level === b.level && versionString(a.version) === versionString(b.version)
}

/** Privileged at any version is the same policy. */
export function equivalentLevelVersion(a: LevelVersion, b: LevelVersion): boolean {
  return (a.level === 'privileged' && b.level === 'privileged') || sameLevelVersion(a, b)
}

export function isFullyPrivileged(p: Policy): boolean {
  return p.enforce.level === 'privileged' && p.audit.level === 'privileged' && p.warn.level === 'privileged'
}

function parseLevel(s: string): Level | undefined {
  return s === 'privileged' || s === 'baseline' || s === 'restricted' ? s : undefined
}

const versionPattern = /^v1\.(0|[1-9][0-9]*)$/

export function parseVersion(s: string): PolicyVersion | undefined {
  if (s === 'latest') return 'latest'
  const m = versionPattern.exec(s)
  return m ? { minor: Number(m[1]) } : undefined
}

/**
 * The policy a namespace's labels ask for (api.PolicyToEvaluate), with the label errors. A bad
 * enforce level means restricted (fail closed); bad audit and warn levels mean privileged (fail
 * open); a bad version means latest. Without its own warn label, warn follows a stricter enforce.
 */
export function policyToEvaluate(
  labels: Readonly<Record<string, string>> | undefined,
  defaults: Policy = defaultPolicy,
): { policy: Policy; errors: FieldError[] } {
  const errors: FieldError[] = []
  // Most namespaces have no Pod Security labels at all (only kubernetes.io/metadata.name).
  if (!labels || !Object.keys(labels).some((k) => k.startsWith(labelPrefix)))
    return { policy: defaults, errors }
  const invalid = (label: string, value: string, detail: string) =>
    errors.push({ type: 'FieldValueInvalid', field: `metadata.labels[${label}]`, value, detail })
  const levelOf = (
    label: string,
    fallback: Level,
    onError: Level,
  ): { level: Level; given: boolean; ok: boolean } => {
    const value = labels[label]
    if (value === undefined) return { level: fallback, given: false, ok: true }
    const level = parseLevel(value)
    if (level) return { level, given: true, ok: true }
    invalid(label, value, 'must be one of privileged, baseline, restricted')
    return { level: onError, given: true, ok: false }
  }
  const versionOf = (label: string, fallback: PolicyVersion): { version: PolicyVersion; given: boolean } => {
    const value = labels[label]
    if (value === undefined) return { version: fallback, given: false }
    const version = parseVersion(value)
    if (version) return { version, given: true }
    invalid(label, value, 'must be "latest" or "v1.x"')
    return { version: 'latest', given: true }
  }
  const enforceLevel = levelOf(enforceLevelLabel, defaults.enforce.level, 'restricted')
  const enforceVersion = versionOf(enforceVersionLabel, defaults.enforce.version)
  const auditLevel = levelOf(auditLevelLabel, defaults.audit.level, 'privileged')
  const auditVersion = versionOf(auditVersionLabel, defaults.audit.version)
  const warnLevel = levelOf(warnLevelLabel, defaults.warn.level, 'privileged')
  const warnVersion = versionOf(warnVersionLabel, defaults.warn.version)
  let warn: LevelVersion = { level: warnLevel.level, version: warnVersion.version }
  if (
    !warnLevel.given &&
    enforceLevel.given &&
    enforceLevel.ok &&
    compareLevels(enforceLevel.level, warn.level) > 0
  ) {
    warn = {
      level: enforceLevel.level,
      version: warnVersion.given ? warnVersion.version : enforceVersion.version,
    }
  }
  return {
    policy: {
      enforce: { level: enforceLevel.level, version: enforceVersion.version },
      audit: { level: auditLevel.level, version: auditVersion.version },
      warn,
    },
    errors,
  }
}

/** The outcome of a level's checks on one pod. */
export interface Evaluation {
  readonly allowed: boolean
  readonly forbidden: readonly Forbidden[]
}

/** `reason (detail), reason, ...`: what a refusal or warning says about one pod. */
export function forbiddenDetail(e: Evaluation): string {
  return e.forbidden.map((f) => (f.detail ? `${f.reason} (${f.detail})` : f.reason)).join(', ')
}

/** `reason, reason`: what the namespace check says about a pod among many. */
export function forbiddenReason(e: Evaluation): string {
  return e.forbidden.map((f) => f.reason).join(', ')
}

/**
 * Runs the checks of a level at a version. Versions newer than the newest check (and latest)
 * use the newest checks; each check runs in its newest version not newer than the one asked
 * for; restricted runs the baseline checks too, except those its own checks override. Checks
 * run baseline first, each level's in order of id, as upstream orders them.
 */
export class PodSecurityEvaluator {
  readonly #checks: readonly Check[]
  readonly #maxMinor: number
  readonly #plans = new Map<string, readonly CheckPod[]>()

  constructor(checks: readonly Check[] = podSecurityChecks) {
    this.#checks = [...checks].sort((a, b) =>
      a.level !== b.level ? (a.level === 'baseline' ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
    )
    this.#maxMinor = Math.max(...checks.map((c) => c.versions.at(-1)?.minimumMinor ?? 0))
  }

  evaluate(lv: LevelVersion, meta: Readonly<ObjectMeta>, spec: Readonly<PodSpec>): Evaluation {
    if (lv.level === 'privileged') return { allowed: true, forbidden: [] }
    const forbidden: Forbidden[] = []
    for (const check of this.#plan(lv.level, lv.version)) {
      const f = check(meta, spec)
      if (f) forbidden.push(f)
    }
    return { allowed: forbidden.length === 0, forbidden }
  }

  #plan(level: 'baseline' | 'restricted', version: PolicyVersion): readonly CheckPod[] {
    const minor = version === 'latest' ? this.#maxMinor : Math.min(version.minor, this.#maxMinor)
    const key = `${level}/${minor}`
    const cached = this.#plans.get(key)
    if (cached) return cached
    const at = (c: Check) => c.versions.filter((v) => v.minimumMinor <= minor).at(-1)
    const overridden = new Set<string>()
    if (level === 'restricted') {
      for (const c of this.#checks) {
        if (c.level === 'restricted') for (const id of at(c)?.overrides ?? []) overridden.add(id)
      }
    }
    const plan: CheckPod[] = []
    for (const c of this.#checks) {
      if (level === 'baseline' && c.level !== 'baseline') continue
      if (c.level === 'baseline' && overridden.has(c.id)) continue
      const v = at(c)
      if (v) plan.push(v.check)
    }
    this.#plans.set(key, plan)
    return plan
  }
}
