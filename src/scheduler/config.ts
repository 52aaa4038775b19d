import { parse } from 'yaml'
import { parseGoDuration } from '../base/duration.ts'
import type { Handle } from './framework/interfaces.ts'
import {
  buildProfile,
  defaultPlugins,
  inTreeRegistry,
  type EnabledPlugin,
  type ExtensionPoint,
  type ProfileConfig,
} from './plugins/registry.ts'

/** What a KubeSchedulerConfiguration file sets; undefined where it leaves the default. */
export interface SchedulerConfiguration {
  profiles: ProfileConfig[]
  kubeconfig?: string
  leaderElect?: boolean
  leaseDurationMs?: number
  renewDeadlineMs?: number
  retryPeriodMs?: number
  podInitialBackoffMs?: number
  podMaxBackoffMs?: number
}

export class SchedulerConfigError extends Error {
  override readonly name = 'SchedulerConfigError'
}

/** A Handle for making plugins only to check their configuration: using it is a bug. */
const inertHandle = new Proxy({} as Handle, {
  get(_t, name) {
    throw new Error(`plugin used the handle (${String(name)}) while being made`)
  },
})

const points: readonly ExtensionPoint[] = [
  'preFilter',
  'filter',
  'postFilter',
  'preScore',
  'score',
  'reserve',
  'permit',
  'preBind',
  'bind',
  'postBind',
]

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Reads a kubescheduler.config.k8s.io/v1 KubeSchedulerConfiguration as kube-scheduler does:
 * profiles (one per schedulerName) start from the default plugins; `multiPoint` enables plugins at
 * every extension point they implement or disables them everywhere (`*`: all defaults), and each
 * extension point may enable or disable more; pluginConfig gives plugins their args;
 * percentageOfNodesToScore per profile falls back to the top-level one. Errors name the field.
 */
export function parseSchedulerConfiguration(text: string): SchedulerConfiguration {
  let doc: unknown
  try {
    doc = parse(text)
  } catch (err) {
    throw new SchedulerConfigError(`not YAML: ${(err as Error).message.split('\n')[0] ?? ''}`)
  }
  if (!isObj(doc)) throw new SchedulerConfigError('not a KubeSchedulerConfiguration object')
  if (doc.kind !== 'KubeSchedulerConfiguration' || doc.apiVersion !== 'kubescheduler.config.k8s.io/v1')
    throw new SchedulerConfigError(
      `expected apiVersion kubescheduler.config.k8s.io/v1 and kind KubeSchedulerConfiguration, got ${String(doc.apiVersion)} ${String(doc.kind)}`,
    )
  const percentage = (v: unknown, field: string): number | undefined => {
    if (v === undefined || v === null) return undefined
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 100)
      throw new SchedulerConfigError(
        `${field}: Invalid value: ${JSON.stringify(v)}: not in valid range [0-100]`,
      )
    return v === 0 ? undefined : v
  }
  const out: SchedulerConfiguration = { profiles: [] }
  const global = percentage(doc.percentageOfNodesToScore, 'percentageOfNodesToScore')
  const raw = doc.profiles === undefined ? [{}] : doc.profiles
  if (!Array.isArray(raw) || raw.length === 0)
    throw new SchedulerConfigError('profiles: Required value: at least one profile')
  const names = new Set<string>()
  raw.forEach((p: unknown, i) => {
    const at = `profiles[${i}]`
    if (!isObj(p)) throw new SchedulerConfigError(`${at}: not an object`)
    const schedulerName = p.schedulerName === undefined ? 'default-scheduler' : p.schedulerName
    if (typeof schedulerName !== 'string' || schedulerName === '')
      throw new SchedulerConfigError(`${at}.schedulerName: Required value`)
    if (names.has(schedulerName))
      throw new SchedulerConfigError(`${at}.schedulerName: Duplicate value: "${schedulerName}"`)
    names.add(schedulerName)
    const perProfile = percentage(p.percentageOfNodesToScore, `${at}.percentageOfNodesToScore`) ?? global
    const profile: ProfileConfig = {
      schedulerName,
      ...pluginsOf(p.plugins, `${at}.plugins`),
      pluginArgs: pluginArgsOf(p.pluginConfig, `${at}.pluginConfig`),
      ...(perProfile !== undefined ? { percentageOfNodesToScore: perProfile } : {}),
    }
    // Making the plugins once checks their args and extension points now, not after election.
    try {
      buildProfile(profile, inertHandle)
    } catch (err) {
      throw new SchedulerConfigError(`${at}: ${(err as Error).message}`)
    }
    out.profiles.push(profile)
  })
  const cc = doc.clientConnection
  if (isObj(cc) && typeof cc.kubeconfig === 'string' && cc.kubeconfig !== '') out.kubeconfig = cc.kubeconfig
  const le = doc.leaderElection
  if (isObj(le)) {
    if (typeof le.leaderElect === 'boolean') out.leaderElect = le.leaderElect
    for (const [field, key] of [
      ['leaseDuration', 'leaseDurationMs'],
      ['renewDeadline', 'renewDeadlineMs'],
      ['retryPeriod', 'retryPeriodMs'],
    ] as const) {
      if (le[field] !== undefined) out[key] = goDuration(le[field], `leaderElection.${field}`)
    }
  }
  if (doc.podInitialBackoffSeconds !== undefined)
    out.podInitialBackoffMs = seconds(doc.podInitialBackoffSeconds, 'podInitialBackoffSeconds')
  if (doc.podMaxBackoffSeconds !== undefined)
    out.podMaxBackoffMs = seconds(doc.podMaxBackoffSeconds, 'podMaxBackoffSeconds')
  return out
}

function pluginsOf(v: unknown, at: string): Pick<ProfileConfig, 'plugins' | 'points'> {
  if (v === undefined || v === null) return { plugins: defaultPlugins }
  if (!isObj(v)) throw new SchedulerConfigError(`${at}: not an object`)
  const set = (x: unknown, field: string): { enabled: EnabledPlugin[]; disabled: string[] } => {
    if (x === undefined || x === null) return { enabled: [], disabled: [] }
    if (!isObj(x)) throw new SchedulerConfigError(`${field}: not an object`)
    const list = (y: unknown, f: string): Obj[] => {
      if (y === undefined || y === null) return []
      if (!Array.isArray(y) || !y.every(isObj)) throw new SchedulerConfigError(`${f}: not a list of plugins`)
      return y
    }
    const enabled = list(x.enabled, `${field}.enabled`).map((e, j) => {
      if (typeof e.name !== 'string' || e.name === '')
        throw new SchedulerConfigError(`${field}.enabled[${j}].name: Required value`)
      if (
        e.weight !== undefined &&
        (typeof e.weight !== 'number' || !Number.isInteger(e.weight) || e.weight < 0)
      )
        throw new SchedulerConfigError(
          `${field}.enabled[${j}].weight: Invalid value: ${JSON.stringify(e.weight)}`,
        )
      if (!inTreeRegistry.has(e.name))
        throw new SchedulerConfigError(
          `${field}.enabled[${j}].name: Invalid value: "${e.name}": no such plugin`,
        )
      return e.weight === undefined ? { name: e.name } : { name: e.name, weight: e.weight }
    })
    const disabled = list(x.disabled, `${field}.disabled`).map((d, j) => {
      if (typeof d.name !== 'string' || d.name === '')
        throw new SchedulerConfigError(`${field}.disabled[${j}].name: Required value`)
      return d.name
    })
    return { enabled, disabled }
  }
  const multi = set(v.multiPoint, `${at}.multiPoint`)
  let plugins: EnabledPlugin[] = multi.disabled.includes('*')
    ? []
    : defaultPlugins.filter((p) => !multi.disabled.includes(p.name))
  for (const e of multi.enabled) {
    if (plugins.some((p) => p.name === e.name)) {
      // Enabling a default again replaces its settings (its weight), as upstream merges them.
      plugins = plugins.map((p) => (p.name === e.name ? e : p))
    } else plugins.push(e)
  }
  const perPoint: Partial<Record<ExtensionPoint, { enabled: EnabledPlugin[]; disabled: string[] }>> = {}
  for (const point of points) {
    const s = set(v[point], `${at}.${point}`)
    if (s.enabled.length > 0 || s.disabled.length > 0) perPoint[point] = s
  }
  return { plugins, points: perPoint }
}

function pluginArgsOf(v: unknown, at: string): Map<string, Readonly<Record<string, unknown>>> {
  const args = new Map<string, Readonly<Record<string, unknown>>>()
  if (v === undefined || v === null) return args
  if (!Array.isArray(v)) throw new SchedulerConfigError(`${at}: not a list`)
  v.forEach((c: unknown, i) => {
    if (!isObj(c) || typeof c.name !== 'string')
      throw new SchedulerConfigError(`${at}[${i}].name: Required value`)
    if (args.has(c.name)) throw new SchedulerConfigError(`${at}[${i}]: Duplicate value: "${c.name}"`)
    if (c.args !== undefined && !isObj(c.args))
      throw new SchedulerConfigError(`${at}[${i}].args: not an object`)
    args.set(c.name, isObj(c.args) ? c.args : {})
  })
  return args
}

function seconds(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    throw new SchedulerConfigError(`${field}: Invalid value: ${JSON.stringify(v)}: must be greater than 0`)
  return v * 1000
}

function goDuration(v: unknown, field: string): number {
  const ms = typeof v === 'string' ? parseGoDuration(v) : undefined
  if (ms === undefined)
    throw new SchedulerConfigError(`${field}: Invalid value: ${JSON.stringify(v)}: not a duration like 15s`)
  return ms
}
