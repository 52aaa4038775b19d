/**
 * Static pods from a manifest folder (--pod-manifest-path; the kubelet's config/file.go and the
 * defaults of config/common.go): each regular file not starting with '.' holds one Pod in YAML or
 * JSON. A file's pod is made the node's own:
 *
 *   name        <name>-<node name, lower case>
 *   namespace   default when left out
 *   uid         md5 of the decoded pod, the node and the file path, unless the file sets one
 *   spec        API defaults, nodeName, a toleration of every NoExecute taint
 *   annotations kubernetes.io/config.source=file, config.hash=<uid>, config.seen=<first seen>
 *   status      phase Pending
 *
 * A file that does not parse or validate is logged and left out (the others still run). The
 * folder is read again every 20 s (--file-check-frequency) and, sooner, when fs.watch reports a
 * change. Each read is compared with the last by uid: a new uid is an add, a uid gone is a
 * remove, the same uid with other content (a file that sets its uid) is an update. Since the uid
 * hashes the content, editing a manifest is a remove of the old pod and an add of the new one,
 * as upstream does.
 */
import { createHash } from 'node:crypto'
import { watch, type FSWatcher } from 'node:fs'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { defaulterFor } from '../../api/defaults/index.ts'
import { aggregateMessage } from '../../api/field-errors.ts'
import type { Pod } from '../../api/generated/types/core-v1.ts'
import type { KubeObject } from '../../api/object.ts'
import { validatePod } from '../../api/validation/core.ts'
import type { Clock, Timer } from '../../base/clock.ts'
import type { Logger } from '../../base/log.ts'

export const configSourceAnnotation = 'kubernetes.io/config.source'
export const configHashAnnotation = 'kubernetes.io/config.hash'
export const configSeenAnnotation = 'kubernetes.io/config.seen'
export const configMirrorAnnotation = 'kubernetes.io/config.mirror'
export const fileSource = 'file'
/** --file-check-frequency. */
export const defaultFileCheckFrequencyMs = 20_000

export interface StaticPodHandlers {
  /** A pod appeared (a new file, or a file whose content, and so uid, changed). */
  add(pod: Pod): void
  /** A pod of the same uid changed (only when its file sets metadata.uid). */
  update(pod: Pod): void
  /** A pod's file was removed or changed. */
  remove(pod: Pod): void
}

export interface StaticPodSourceOptions {
  /** A folder of manifests, or one manifest file. */
  manifestPath: string
  nodeName: string
  clock: Clock
  handlers: StaticPodHandlers
  log?: Logger
  /** How often the folder is read again (default 20 s). */
  checkFrequencyMs?: number
  /** Also read when fs.watch reports a change (default true). */
  watch?: boolean
}

/**
 * The static pod source: start() reads the folder once and calls add for each pod before it
 * resolves; stop() ends the re-reads. Calls to the handlers never overlap.
 */
export class StaticPodSource {
  readonly #o: StaticPodSourceOptions
  readonly #pods = new Map<string, Pod>()
  readonly #seen = new Map<string, string>()
  #timer: Timer | undefined
  #watcher: FSWatcher | undefined
  #reading: Promise<void> | undefined
  #again = false
  #stopped = false

  constructor(o: StaticPodSourceOptions) {
    this.#o = o
  }

  async start(): Promise<void> {
    await this.scan()
    this.#schedule()
    if (this.#o.watch ?? true) {
      try {
        this.#watcher = watch(this.#o.manifestPath, () => void this.scan())
        this.#watcher.on('error', (err) =>
          this.#o.log?.warn({ err }, 'watching the static pod manifests failed'),
        )
      } catch (err) {
        // A folder that does not exist yet: the periodic reads find it once it does.
        this.#o.log?.info({ err, path: this.#o.manifestPath }, 'not watching the static pod manifests')
      }
    }
  }

  stop(): void {
    this.#stopped = true
    this.#timer?.cancel()
    this.#watcher?.close()
  }

  /** The static pods as last read. */
  pods(): Pod[] {
    return [...this.#pods.values()]
  }

  /** Reads the manifests now (one read at a time; a read asked for during one follows it). */
  async scan(): Promise<void> {
    if (this.#reading !== undefined) {
      this.#again = true
      return this.#reading
    }
    this.#reading = (async () => {
      do {
        this.#again = false
        await this.#read()
      } while (this.#again && !this.#stopped)
    })().finally(() => (this.#reading = undefined))
    return this.#reading
  }

  #schedule(): void {
    if (this.#stopped) return
    this.#timer = this.#o.clock.setTimer(this.#o.checkFrequencyMs ?? defaultFileCheckFrequencyMs, () => {
      this.scan().then(
        () => this.#schedule(),
        (err: unknown) => {
          this.#o.log?.error({ err }, 'reading the static pod manifests failed')
          this.#schedule()
        },
      )
    })
  }

  async #read(): Promise<void> {
    const found = await readManifests(this.#o.manifestPath, this.#o.nodeName, this.#o.log)
    if (this.#stopped) return
    const next = new Map<string, Pod>()
    const names = new Set<string>()
    for (const pod of found) {
      const uid = pod.metadata?.uid ?? ''
      const fullName = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`
      if (names.has(fullName) || next.has(uid)) {
        this.#o.log?.warn({ pod: fullName }, 'a static pod of this name is already defined; ignored')
        continue
      }
      names.add(fullName)
      const seen = this.#seen.get(uid) ?? new Date(this.#o.clock.now()).toISOString()
      this.#seen.set(uid, seen)
      const annotations = pod.metadata?.annotations ?? {}
      annotations[configSeenAnnotation] = seen
      next.set(uid, pod)
    }
    const previous = new Map(this.#pods)
    this.#pods.clear()
    for (const [uid, pod] of next) this.#pods.set(uid, pod)
    for (const [uid, old] of previous) {
      if (!next.has(uid)) {
        this.#seen.delete(uid)
        this.#o.handlers.remove(old)
      }
    }
    for (const [uid, pod] of next) {
      const old = previous.get(uid)
      if (old === undefined) this.#o.handlers.add(pod)
      else if (JSON.stringify(old) !== JSON.stringify(pod)) this.#o.handlers.update(pod)
    }
  }
}

/**
 * The static pods of a folder (or of one file), sorted by file name. Files that fail are logged
 * and left out; a path that does not exist has no pods.
 */
export async function readManifests(path: string, nodeName: string, log?: Logger): Promise<Pod[]> {
  let files: string[]
  try {
    const info = await stat(path)
    if (info.isDirectory()) {
      const entries = await readdir(path, { withFileTypes: true })
      files = []
      for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
        if (e.name.startsWith('.')) continue
        if (e.isDirectory()) {
          log?.warn(
            { path: join(path, e.name) },
            'not recursing into a folder of the static pod manifest path',
          )
          continue
        }
        files.push(join(path, e.name))
      }
    } else files = [path]
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  const pods: Pod[] = []
  for (const file of files) {
    try {
      pods.push(staticPodFromManifest(await readFile(file, 'utf8'), { path: file, nodeName }))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
      log?.error({ err, path: file }, 'Could not process manifest file')
    }
  }
  return pods
}

/** One manifest's pod, made the node's own (applyDefaults); throws a clear error for a bad file. */
export function staticPodFromManifest(text: string, o: { path: string; nodeName: string }): Pod {
  const docs = parseAllDocuments(text).filter((d) => d.contents !== null)
  if (docs.length !== 1) {
    throw new Error(`${o.path}: a static pod manifest holds exactly one object, found ${docs.length}`)
  }
  const doc = docs[0]
  if (doc === undefined || doc.errors.length > 0) {
    throw new Error(`${o.path}: ${doc?.errors[0]?.message ?? 'not YAML or JSON'}`)
  }
  const obj: unknown = doc.toJS()
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new Error(`${o.path}: not an object`)
  }
  const pod = obj as Pod & KubeObject
  if (pod.apiVersion !== 'v1' || pod.kind !== 'Pod') {
    throw new Error(
      `${o.path}: invalid pod: want apiVersion v1 and kind Pod, got ${String(pod.apiVersion)} ${String(pod.kind)}`,
    )
  }
  if (!pod.metadata?.name) throw new Error(`${o.path}: invalid pod: metadata.name: Required value`)
  defaulterFor('', 'v1', 'Pod')?.(pod)
  const meta = (pod.metadata ??= {})
  if (!meta.uid) {
    const hash = createHash('md5')
    hash.update(JSON.stringify(pod))
    hash.update(`host:${o.nodeName}`)
    hash.update(`file:${o.path}`)
    meta.uid = hash.digest('hex')
  }
  meta.name = `${meta.name}-${o.nodeName.toLowerCase()}`
  meta.namespace ||= 'default'
  const spec = (pod.spec ??= { containers: [] })
  spec.nodeName = o.nodeName
  meta.annotations = {
    ...meta.annotations,
    [configHashAnnotation]: meta.uid,
    [configSourceAnnotation]: fileSource,
  }
  // Static pods stay through node problems: tolerate every NoExecute taint.
  const tolerations = spec.tolerations ?? []
  if (!tolerations.some((t) => t.operator === 'Exists' && !t.key && t.effect === 'NoExecute')) {
    spec.tolerations = [...tolerations, { operator: 'Exists', effect: 'NoExecute' }]
  }
  pod.status = { phase: 'Pending' }
  const errors = validatePod(pod)
  if (errors.length > 0) throw new Error(`${o.path}: invalid pod: ${aggregateMessage(errors)}`)
  return pod
}

/** The annotations say the pod came from a manifest (not the API). */
export function isStaticPod(pod: Readonly<Pod>): boolean {
  const source = pod.metadata?.annotations?.[configSourceAnnotation]
  return source !== undefined && source !== 'api'
}
