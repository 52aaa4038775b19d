import { processMetrics } from '../client/component-server.ts'
import { runComponentThread } from '../client/component-thread.ts'
import { startControllerManager } from './index.ts'
import type { ControllerManagerThreadData } from './thread.ts'

/** The entry point of a controller-manager thread (thread.ts). */
runComponentThread<ControllerManagerThreadData>((options, log) => {
  const manager = startControllerManager({ ...options, log: log.child({ component: 'controller-manager' }) })
  return { run: manager, registry: processMetrics() }
})
