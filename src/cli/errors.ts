/** An error meant for the person at the command line: printed as one line, exit status 1. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** One line for stderr, whatever was thrown. */
export function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message.replace(/\s*\n\s*/g, '; ')
}
