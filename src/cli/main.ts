import { Command, CommanderError } from 'commander'
import { readFileSync } from 'node:fs'
import { oneLine } from './errors.ts'
import { up, upDefaults } from './up.ts'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string
}

/** Runs the k8ts command line; resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('k8ts')
    .description('Kubernetes, rebuilt in TypeScript on Node.js')
    .version(pkg.version, '--version', 'print the k8ts version')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) })

  const defaults = upDefaults()
  program
    .command('up')
    .description('run a whole single-node cluster in this process')
    .option('--data-dir <dir>', 'where state, certificates and kubeconfigs live', defaults.dataDir)
    .option(
      '--datastore <url>',
      'sqlite://<path> (relative to the data dir) or etcd://host:port[,host:port...]',
      defaults.datastore,
    )
    .action(async (opts: { dataDir: string; datastore: string }) => {
      await up({ dataDir: opts.dataDir, datastore: opts.datastore }, stopSignal())
    })

  try {
    await program.parseAsync(argv, { from: 'user' })
    return 0
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode
    process.stderr.write(`k8ts: ${oneLine(err)}\n`)
    return 1
  }
}

/** Aborts on the first SIGINT or SIGTERM. */
function stopSignal(): AbortSignal {
  const ac = new AbortController()
  const stop = () => ac.abort()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  return ac.signal
}
