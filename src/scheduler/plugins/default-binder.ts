import type { BindPlugin, Handle } from '../framework/interfaces.ts'
import { success } from '../framework/status.ts'

/** DefaultBinder: binds the pod through the pods/binding subresource. */
export function defaultBinder(handle: Handle): BindPlugin {
  return {
    name: 'DefaultBinder',
    async bind(_state, pod, nodeName) {
      await handle.writes.bind(pod, nodeName)
      return success
    },
  }
}
