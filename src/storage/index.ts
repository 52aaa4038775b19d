export * from './interface.ts'
export { guaranteedUpdate, type TryUpdate, type GuaranteedUpdateOptions } from './guaranteed-update.ts'
export { parseDatastore, openStorage, type Datastore, type DatastoreTls } from './datastore.ts'
export { startCompactor, type CompactorOptions } from './compactor.ts'
