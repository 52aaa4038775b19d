import { runComponentThread } from '../client/component-thread.ts'
import { startScheduler } from './index.ts'
import type { SchedulerThreadData } from './thread.ts'

/** The entry point of a scheduler thread (thread.ts): kube-scheduler on an event loop of its own. */
runComponentThread<SchedulerThreadData>((options, log) => {
  const scheduler = startScheduler({ ...options, log: log.child({ component: 'scheduler' }) })
  return { run: scheduler, registry: scheduler.metrics.registry }
})
