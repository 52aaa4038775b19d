import { pino, type Logger } from 'pino'

export type { Logger }

/**
 * The process logger: JSON lines on stderr (stdout belongs to command output). Components take a
 * child logger named after themselves rather than importing a global.
 */
export function createLogger(options: { level?: string } = {}): Logger {
  return pino(
    { level: options.level ?? process.env.K8TS_LOG_LEVEL ?? 'info', base: undefined },
    pino.destination(2),
  )
}
