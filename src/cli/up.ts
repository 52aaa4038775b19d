import { loadKubeconfig } from '../client/index.ts'
import { startControllerManager } from '../controllers/index.ts'
import { apiserver, apiServerDefaults, type ApiServerCommandOptions } from './apiserver.ts'

export type UpOptions = ApiServerCommandOptions

export const upDefaults = (): UpOptions => apiServerDefaults()

/**
 * A whole single-node cluster in one process. For now: the store, the apiserver (with its admin
 * kubeconfig) and the controller-manager; the scheduler and the node agent join as they are built.
 */
export async function up(options: UpOptions, signal: AbortSignal): Promise<void> {
  await apiserver(options, signal, (server, log) => {
    const manager = startControllerManager({
      client: loadKubeconfig(server.adminKubeconfig),
      log: log.child({ component: 'controller-manager' }),
    })
    return { stop: () => manager.stop() }
  })
}
