/**
 * Polls `probe` until it gives something other than undefined or false, and resolves to that;
 * fails naming `what` after `ms`. The probe may be synchronous (a flag a handler sets) or a
 * request to the apiserver.
 */
export async function until<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  ms: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await probe()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}
