// npm run --silent bench -- <name> [--quick]: runs one benchmark, which prints one JSON document.
const benches: Record<string, () => Promise<{ main(args: string[]): Promise<void> }>> = {
  store: () => import('./store.ts'),
  apiserver: () => import('./apiserver.ts'),
  scheduler: () => import('./scheduler.ts'),
  sim: () => import('./sim.ts'),
}

const [name, ...args] = process.argv.slice(2)
const load = name === undefined ? undefined : benches[name]
if (!load) {
  process.stderr.write(`usage: npm run --silent bench -- <${Object.keys(benches).join('|')}> [--quick]\n`)
  process.exit(2)
}
await (await load()).main(args)
