import {
  startComponentThread,
  type ComponentThread,
  type ThreadSettings,
} from '../client/component-thread.ts'
import type { ControllerManagerOptions } from './index.ts'

export interface ControllerManagerThreadOptions
  extends Omit<ControllerManagerOptions, 'clock' | 'log'>, ThreadSettings {}

/** What the thread starts the controller-manager with (thread-worker.ts). */
export type ControllerManagerThreadData = Omit<ControllerManagerOptions, 'clock' | 'log'>

/**
 * kube-controller-manager in a worker thread of its own (thread-worker.ts), as `k8ts up` runs it:
 * a process of its own in Kubernetes, here an event loop of its own, so that the controllers'
 * informers and writes do not take the apiserver's (src/client/component-thread.ts). Its metrics
 * are the process's, read in the thread.
 */
export function startControllerManagerThread(o: ControllerManagerThreadOptions): ComponentThread {
  return startComponentThread('controller-manager', workerModule, o)
}

const workerModule = new URL(
  import.meta.url.endsWith('.ts') ? './thread-worker.ts' : './thread-worker.js',
  import.meta.url,
)
