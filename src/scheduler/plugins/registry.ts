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
import { balancedAllocation } from './balanced-allocation.ts'
import { defaultBinder } from './default-binder.ts'
import { nodeAffinity } from './node-affinity.ts'
import { nodeName } from './node-name.ts'
import { nodePorts } from './node-ports.ts'
import { nodeResourcesFit } from './node-resources-fit.ts'
import { nodeUnschedulable } from './node-unschedulable.ts'
import { taintToleration } from './taint-toleration.ts'

/** The in-tree plugins by name, each made per profile from the Handle (and its args). */
export const inTreeRegistry: ReadonlyMap<string, PluginFactory> = registry([
  ['NodeUnschedulable', () => nodeUnschedulable],
  ['NodeName', () => nodeName],
  ['TaintToleration', () => taintToleration],
  ['NodeAffinity', () => nodeAffinity],
  ['NodePorts', () => nodePorts],
  ['NodeResourcesFit', () => nodeResourcesFit],
  ['NodeResourcesBalancedAllocation', () => balancedAllocation],
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
  { name: 'NodeResourcesBalancedAllocation', weight: 1 },
  { name: 'DefaultBinder' },
]

/** One profile as configured: its scheduler name, its plugins, their args. */
export interface ProfileConfig {
  readonly schedulerName: string
  readonly plugins: readonly EnabledPlugin[]
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
  const made: { plugin: Plugin; weight: number }[] = []
  for (const e of config.plugins) {
    const factory = plugins.get(e.name)
    if (!factory) throw new Error(`profile ${config.schedulerName}: unknown scheduler plugin ${e.name}`)
    made.push({ plugin: factory(handle, config.pluginArgs?.get(e.name)), weight: e.weight ?? 1 })
  }
  const at = <T extends Plugin>(method: string): T[] =>
    made.filter(({ plugin }) => method in plugin).map(({ plugin }) => plugin as T)
  return {
    schedulerName: config.schedulerName,
    preFilter: at<PreFilterPlugin>('preFilter'),
    filter: at<FilterPlugin>('filter'),
    postFilter: at<PostFilterPlugin>('postFilter'),
    preScore: at<PreScorePlugin>('preScore'),
    score: made
      .filter(({ plugin }) => 'score' in plugin)
      .map(({ plugin, weight }) => ({ plugin: plugin as ScorePlugin, weight })),
    reserve: at<ReservePlugin>('reserve'),
    permit: at<PermitPlugin>('permit'),
    preBind: at<PreBindPlugin>('preBind'),
    bind: at<BindPlugin>('bind'),
    postBind: at<PostBindPlugin>('postBind'),
    ...(config.percentageOfNodesToScore !== undefined
      ? { percentageOfNodesToScore: config.percentageOfNodesToScore }
      : {}),
  }
}
