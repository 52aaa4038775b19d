import { apiserver, apiServerDefaults, type ApiServerCommandOptions } from './apiserver.ts'

export type UpOptions = ApiServerCommandOptions

export const upDefaults = (): UpOptions => apiServerDefaults()

/**
 * A whole single-node cluster in one process. For now: the store and the apiserver (with its
 * admin kubeconfig); the controller-manager, scheduler and node agent join as they are built.
 */
export async function up(options: UpOptions, signal: AbortSignal): Promise<void> {
  await apiserver(options, signal)
}
