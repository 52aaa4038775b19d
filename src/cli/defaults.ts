import { homedir } from 'node:os'
import { join } from 'node:path'

/** Where k8ts keeps its state unless told otherwise: /var/lib/k8ts for root, ~/.k8ts otherwise. */
export function defaultDataDir(): string {
  return process.getuid?.() === 0 ? '/var/lib/k8ts' : join(homedir(), '.k8ts')
}

/** The embedded SQLite store in the data directory. */
export const defaultDatastore = 'sqlite://state.db'
