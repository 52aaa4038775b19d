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
