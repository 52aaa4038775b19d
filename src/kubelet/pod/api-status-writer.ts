/**
 * The PodStatusWriter that talks to the apiserver: a patch of pods/status that carries
 * metadata.uid, so a pod recreated under the same name is never given the old one's status, and
 * the final delete (grace period 0, uid precondition) of a pod whose containers are gone.
 *
 * Upstream sends a two-way strategic merge patch between the old and new status, with deletion
 * directives for list entries that went away. We send the whole status the kubelet owns as a JSON
 * merge patch instead: lists (conditions, podIPs, containerStatuses) are then replaced as a whole,
 * which removes a stale pod IP just the same, and fields the kubelet does not set stay untouched.
 */
import type { Pod, PodStatus } from '../../api/generated/types/core-v1.ts'
import { isConflict, isNotFound, type ResourceClient } from '../../client/index.ts'
import type { PodRef, PodStatusWriter } from './status-manager.ts'

export const kubeletFieldManager = 'kubelet'

export class ApiPodStatusWriter implements PodStatusWriter {
  readonly #pods: ResourceClient<Pod>

  constructor(pods: ResourceClient<Pod>) {
    this.#pods = pods
  }

  async patchStatus(ref: PodRef, status: PodStatus): Promise<void> {
    try {
      await this.#pods.patchUnread(
        ref.namespace,
        ref.name,
        'merge',
        { metadata: { uid: ref.uid }, status },
        { subresource: 'status', fieldManager: kubeletFieldManager },
      )
    } catch (err) {
      // Gone: nothing of ours to update. (Another pod of that name: the apiserver refuses the
      // changed metadata.uid, and the worker tries again until the informer says ours is gone.)
      if (isNotFound(err)) return
      throw err
    }
  }

  async deletePod(ref: PodRef): Promise<void> {
    try {
      await this.#pods.delete(ref.namespace, ref.name, {
        gracePeriodSeconds: 0,
        preconditions: { uid: ref.uid },
      })
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return
      throw err
    }
  }
}
