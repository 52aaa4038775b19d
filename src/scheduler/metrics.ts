import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { SchedulingQueue } from './queue.ts'
import type { SchedulerObserver } from './scheduler.ts'

/** Exponential histogram buckets: `count` buckets from `start`, each `factor` times the last. */
function exponential(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start * factor ** i)
}

/**
 * kube-scheduler's Prometheus metrics, with its names and labels: attempts by result and profile,
 * how long attempts take, the end-to-end scheduling latency of each pod from its first entry in
 * the queue to its binding (the SLI), attempts per pod, pending pods per sub-queue, preemption.
 */
export class SchedulerMetrics implements SchedulerObserver {
  readonly registry = new Registry()
  readonly #attempts = new Counter({
    name: 'scheduler_schedule_attempts_total',
    help: 'Number of attempts to schedule pods, by the result. "unschedulable" means a pod could not be scheduled, while "error" means an internal scheduler problem.',
    labelNames: ['result', 'profile'] as const,
    registers: [this.registry],
  })
  readonly #attemptDuration = new Histogram({
    name: 'scheduler_scheduling_attempt_duration_seconds',
    help: 'Scheduling attempt latency in seconds (scheduling algorithm + binding)',
    labelNames: ['result', 'profile'] as const,
    buckets: exponential(0.001, 2, 15),
    registers: [this.registry],
  })
  readonly #sli = new Histogram({
    name: 'scheduler_pod_scheduling_sli_duration_seconds',
    help: 'E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue and might involve multiple scheduling attempts.',
    labelNames: ['attempts'] as const,
    buckets: exponential(0.01, 2, 20),
    registers: [this.registry],
  })
  readonly #podAttempts = new Histogram({
    name: 'scheduler_pod_scheduling_attempts',
    help: 'Number of attempts to successfully schedule a pod.',
    buckets: exponential(1, 2, 5),
    registers: [this.registry],
  })
  readonly #preemptionAttempts = new Counter({
    name: 'scheduler_preemption_attempts_total',
    help: 'Total preemption attempts in the cluster till now',
    registers: [this.registry],
  })
  readonly #victims = new Histogram({
    name: 'scheduler_preemption_victims',
    help: 'Number of selected preemption victims',
    buckets: exponential(1, 2, 7),
    registers: [this.registry],
  })

  constructor(queue: () => SchedulingQueue | undefined) {
    collectDefaultMetrics({ register: this.registry })
    new Gauge({
      name: 'scheduler_pending_pods',
      help: 'Number of pending pods, by the queue type. "active" means number of pods in activeQ; "backoff" means number of pods in backoffQ; "unschedulable" means number of pods in unschedulablePods that the scheduler attempted to schedule and failed; "gated" is the number of unschedulable pods that the scheduler never attempted to schedule because they are gated.',
      labelNames: ['queue'] as const,
      registers: [this.registry],
      collect() {
        // Before the scheduler leads (or has synced), every queue is empty.
        const sizes = queue()?.sizes ?? { active: 0, backoff: 0, unschedulable: 0, gated: 0 }
        this.reset()
        for (const [name, n] of Object.entries(sizes)) this.set({ queue: name }, n)
      },
    })
  }

  attempt(result: 'scheduled' | 'unschedulable' | 'error', profile: string, seconds: number): void {
    this.#attempts.inc({ result, profile })
    this.#attemptDuration.observe({ result, profile }, seconds)
  }

  scheduled(attempts: number, e2eSeconds: number): void {
    this.#sli.observe({ attempts: String(attempts) }, e2eSeconds)
    this.#podAttempts.observe(attempts)
  }

  preemption(victims: number): void {
    this.#preemptionAttempts.inc()
    this.#victims.observe(victims)
  }
}
