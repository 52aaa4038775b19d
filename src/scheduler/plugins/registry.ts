import type { Profile } from '../framework/framework.ts'
import type {
  BindPlugin,
  FilterPlugin,
  Handle,
  PermitPlugin,
  Plugin,
  PluginFactory,
  PostBindPlugin,
  PostFilterPlugin,
  PreBindPlugin,
  PreFilterPlugin,
  PreScorePlugin,
  ReservePlugin,
  ScorePlugin,
} from '../framework/interfaces.ts'
import { balancedAllocationArgs, newBalancedAllocation } from './balanced-allocation.ts'
import { defaultBinder } from './default-binder.ts'
import { defaultPreemption } from './default-preemption.ts'
import { imageLocality } from './image-locality.ts'
import { interPodAffinity } from './inter-pod-affinity.ts'
import { nodeAffinity } from './node-affinity.ts'
import { nodeName } from './node-name.ts'
import { nodePorts } from './node-ports.ts'
import { fitArgs, newNodeResourcesFit } from './node-resources-fit.ts'
import { nodeUnschedulable } from './node-unschedulable.ts'
import { podTopologySpread } from './pod-topology-spread.ts'
import { taintToleration } from './taint-toleration.ts'
import { volumeRestrictions } from './volume-restrictions.ts'

/** The in-tree plugins by name, each made per profile from the Handle (and its args). */
export const inTreeRegistry: ReadonlyMap<string, PluginFactory> = registry([
  ['NodeUnschedulable', () => nodeUnschedulable],
  ['NodeName', () => nodeName],
  ['TaintToleration', () => taintToleration],
  ['NodeAffinity', () => nodeAffinity],
  ['NodePorts', () => nodePorts],
  ['NodeResourcesFit', (_h, args) => newNodeResourcesFit(fitArgs(args))],
  ['NodeResourcesBalancedAllocation', (_h, args) => newBalancedAllocation(balancedAllocationArgs(args))],
  ['VolumeRestrictions', (h) => volumeRestrictions(h)],
  ['PodTopologySpread', (h, args) => podTopologySpread(h, args)],
  ['InterPodAffinity', (h, args) => interPodAffinity(h, args)],
  ['ImageLocality', (h) => imageLocality(h)],
  ['DefaultPreemption', (h, args) => defaultPreemption(h, args)],
  ['DefaultBinder', (h) => defaultBinder(h)],
])

function registry(entries: [string, PluginFactory][]): ReadonlyMap<string, PluginFactory> {
  const m = new Map<string, PluginFactory>()
  for (const [name, f] of entries) {
    if (m.has(name)) throw new Error(`scheduler plugin ${name} registered twice`)
    m.set(name, f)
  }
  return m
}

/** A plugin enabled in a profile, with its score weight (used only if it scores). */
export interface EnabledPlugin {
  readonly name: string
  readonly weight?: number
}

/**
 * kube-scheduler's default plugins (its multiPoint set), in upstream's order, which is the order
 * they run at every extension point, with upstream's score weights.
 */
export const defaultPlugins: readonly EnabledPlugin[] = [
  { name: 'NodeUnschedulable' },
  { name: 'NodeName' },
  { name: 'TaintToleration', weight: 3 },
  { name: 'NodeAffinity', weight: 2 },
  { name: 'NodePorts' },
  { name: 'NodeResourcesFit', weight: 1 },
  { name: 'VolumeRestrictions' },
  { name: 'PodTopologySpread', weight: 2 },
  { name: 'InterPodAffinity', weight: 2 },
  { name: 'DefaultPreemption' },
  { name: 'NodeResourcesBalancedAllocation', weight: 1 },
  { name: 'ImageLocality', weight: 1 },
  { name: 'DefaultBinder' },
]

export type ExtensionPoint =
  | 'preFilter'
  | 'filter'
  | 'postFilter'
  | 'preScore'
  | 'score'
  | 'reserve'
  | 'permit'
  | 'preBind'
  | 'bind'
  | 'postBind'

/** One profile as configured: its scheduler name, its plugins, their args. */
export interface ProfileConfig {
  readonly schedulerName: string
  /** The multiPoint plugins: each runs at every extension point it implements, in this order. */
  readonly plugins: readonly EnabledPlugin[]
  /**
   * Per extension point: plugins enabled there only (they run first, before the multiPoint
   * ones), and multiPoint plugins disabled there (`*`: all of them).
   */
  readonly points?: Readonly<
    Partial<
      Record<
        ExtensionPoint,
        { readonly enabled: readonly EnabledPlugin[]; readonly disabled: readonly string[] }
      >
    >
  >
  /** pluginConfig: args per plugin name. */
  readonly pluginArgs?: ReadonlyMap<string, Readonly<Record<string, unknown>>>
  readonly percentageOfNodesToScore?: number
}

/**
 * Makes a profile's plugins (each once) and puts each at every extension point it implements,
 * in the configured order, as kube-scheduler's multiPoint does. Unknown names are an error.
 */
export function buildProfile(
  config: ProfileConfig,
  handle: Handle,
  plugins: ReadonlyMap<string, PluginFactory> = inTreeRegistry,
): Profile {
  const made = new Map<string, Plugin>()
  const make = (name: string): Plugin => {
    let p = made.get(name)
    if (p) return p
    const factory = plugins.get(name)
    if (!factory) throw new Error(`profile ${config.schedulerName}: unknown scheduler plugin ${name}`)
    p = factory(handle, config.pluginArgs?.get(name))
    made.set(name, p)
    return p
  }
  for (const e of config.plugins) make(e.name)
  /** The plugins at one extension point with their weights: that point's own first, then multiPoint's. */
  const at = (point: ExtensionPoint, method: string): { plugin: Plugin; weight: number }[] => {
    const own = config.points?.[point]
    const out: { plugin: Plugin; weight: number }[] = []
    for (const e of own?.enabled ?? []) {
      const plugin = make(e.name)
      if (!(method in plugin))
        throw new Error(`profile ${config.schedulerName}: plugin ${e.name} does not extend ${point}`)
      out.push({ plugin, weight: e.weight ?? 1 })
    }
    const disabled = new Set(own?.disabled ?? [])
    for (const e of config.plugins) {
      const plugin = make(e.name)
      if (!(method in plugin) || disabled.has('*') || disabled.has(e.name)) continue
      if (out.some((o) => o.plugin.name === e.name)) continue
      out.push({ plugin, weight: e.weight ?? 1 })
    }
    return out
  }
  const list = <T extends Plugin>(point: ExtensionPoint, method: string): T[] =>
    at(point, method).map(({ plugin }) => plugin as T)
  return {
    schedulerName: config.schedulerName,
    preFilter: list<PreFilterPlugin>('preFilter', 'preFilter'),
    filter: list<FilterPlugin>('filter', 'filter'),
    postFilter: list<PostFilterPlugin>('postFilter', 'postFilter'),
    preScore: list<PreScorePlugin>('preScore', 'preScore'),
    score: at('score', 'score').map(({ plugin, weight }) => ({ plugin: plugin as ScorePlugin, weight })),
    reserve: list<ReservePlugin>('reserve', 'reserve'),
    permit: list<PermitPlugin>('permit', 'permit'),
    preBind: list<PreBindPlugin>('preBind', 'preBind'),
    bind: list<BindPlugin>('bind', 'bind'),
    postBind: list<PostBindPlugin>('postBind', 'postBind'),
    ...(config.percentageOfNodesToScore !== undefined
      ? { percentageOfNodesToScore: config.percentageOfNodesToScore }
      : {}),
  }
}
