/** Aborts on the first SIGINT or SIGTERM. */
export function stopSignal(): AbortSignal {
  const ac = new AbortController()
  const stop = () => ac.abort()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  return ac.signal
}

/** Waits for the signal, keeping the process alive meanwhile. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve()
    const keepAlive = setInterval(() => undefined, 1 << 30)
    signal.addEventListener(
      'abort',
      () => {
        clearInterval(keepAlive)
        resolve()
      },
      { once: true },
    )
  })
}

/**
 * Runs a component that leads (controller-manager, scheduler) until SIGINT or SIGTERM. Losing
 * the lease ends it with an error, as upstream's do, so that a supervisor restarts it with fresh
 * state.
 */
export async function superviseLeading(
  name: string,
  running: { readonly done: Promise<void>; readonly lostLeadership: boolean; stop(): Promise<void> },
  signal: AbortSignal,
): Promise<void> {
  const onStop = () => void running.stop()
  signal.addEventListener('abort', onStop, { once: true })
  process.stdout.write(`k8ts: ${name} started\n`)
  await running.done
  signal.removeEventListener('abort', onStop)
  if (running.lostLeadership) throw new Error('leader election lost')
  process.stdout.write('k8ts: stopped\n')
}

/** The --leader-elect* flags (durations in milliseconds). */
export interface LeaderElectionFlags {
  leaderElect: boolean
  leaderElectLeaseDuration: number
  leaderElectRenewDeadline: number
  leaderElectRetryPeriod: number
}

/** The leader election flags as the components take them. */
export function leaderElectionSettings(o: LeaderElectionFlags): {
  leaderElect: boolean
  leaseDurationMs: number
  renewDeadlineMs: number
  retryPeriodMs: number
} {
  return {
    leaderElect: o.leaderElect,
    leaseDurationMs: o.leaderElectLeaseDuration,
    renewDeadlineMs: o.leaderElectRenewDeadline,
    retryPeriodMs: o.leaderElectRetryPeriod,
  }
}
