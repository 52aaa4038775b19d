import {
  age,
  ageOf,
  col,
  containersAndImages,
  int,
  intOrString,
  labelSelector,
  formatLabels,
  name,
  nameOf,
  obj,
  objs,
  optObj,
  orNone,
  present,
  selectorString,
  since,
  humanDuration,
  str,
  wide,
  type Obj,
} from './cells.ts'
import type { TableConvertor } from './table.ts'

/** Printers of pods and the workloads that run them, with kube-apiserver's columns and cells. */

const containersCol = wide('Containers', 'The containers of the pod template.')
const imagesCol = wide('Images', 'The images of the containers of the pod template.')
const selectorCol = wide('Selector', 'The label selector of the pods.')

// --- pods ----------------------------------------------------------------------------------------

function isRestartable(c: Obj | undefined): boolean {
  return c?.restartPolicy === 'Always'
}

function laterOf(a: number, finishedAt: unknown): number {
  const t = typeof finishedAt === 'string' ? Date.parse(finishedAt) : NaN
  return Number.isNaN(t) ? a : Math.max(a, t)
}

/** Whether the first condition of a type is true (how most printers read conditions). */
function conditionTrue(status: Obj, type: string): boolean {
  return objs(status.conditions).find((c) => c.type === type)?.status === 'True'
}

/** READY, STATUS and RESTARTS of a pod, with the reason logic of kubectl's pod printer. */
export function podSummary(pod: Obj, now: number): { ready: string; reason: string; restarts: string } {
  const spec = obj(pod.spec)
  const status = obj(pod.status)
  const meta = obj(pod.metadata)
  let restarts = 0
  let sidecarRestarts = 0
  let total = objs(spec.containers).length
  let ready = 0
  let lastRestart = 0
  let lastSidecarRestart = 0
  const phase = str(status.phase)
  let reason = str(status.reason) !== '' ? str(status.reason) : phase
  for (const c of objs(status.conditions)) {
    if (c.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated'
  }
  const initContainers = objs(spec.initContainers)
  const initSpecs = new Map(initContainers.map((c) => [str(c.name), c]))
  total += initContainers.filter(isRestartable).length
  const initStatuses = objs(status.initContainerStatuses)
  let initializing = false
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i] ?? {}
    const state = obj(c.state)
    const terminated = optObj(state.terminated)
    const waiting = optObj(state.waiting)
    const lastTerminated = obj(obj(c.lastState).terminated)
    restarts += int(c.restartCount)
    lastRestart = laterOf(lastRestart, lastTerminated.finishedAt)
    const sidecar = isRestartable(initSpecs.get(str(c.name)))
    if (sidecar) {
      sidecarRestarts += int(c.restartCount)
      lastSidecarRestart = laterOf(lastSidecarRestart, lastTerminated.finishedAt)
    }
    if (terminated && int(terminated.exitCode) === 0) continue
    if (sidecar && c.started === true) {
      if (c.ready === true) ready++
      continue
    }
    if (terminated) {
      if (str(terminated.reason) === '') {
        reason =
          int(terminated.signal) !== 0
            ? `Init:Signal:${int(terminated.signal)}`
            : `Init:ExitCode:${int(terminated.exitCode)}`
      } else reason = `Init:${str(terminated.reason)}`
    } else if (waiting && str(waiting.reason) !== '' && waiting.reason !== 'PodInitializing') {
      reason = `Init:${str(waiting.reason)}`
    } else {
      reason = `Init:${i}/${initContainers.length}`
    }
    initializing = true
    break
  }
  if (!initializing || conditionTrue(status, 'Initialized')) {
    restarts = sidecarRestarts
    lastRestart = lastSidecarRestart
    let hasRunning = false
    const statuses = objs(status.containerStatuses)
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i] ?? {}
      const state = obj(c.state)
      restarts += int(c.restartCount)
      lastRestart = laterOf(lastRestart, obj(obj(c.lastState).terminated).finishedAt)
      const waiting = optObj(state.waiting)
      const terminated = optObj(state.terminated)
      if (waiting && str(waiting.reason) !== '') reason = str(waiting.reason)
      else if (terminated && str(terminated.reason) !== '') reason = str(terminated.reason)
      else if (terminated) {
        reason =
          int(terminated.signal) !== 0
            ? `Signal:${int(terminated.signal)}`
            : `ExitCode:${int(terminated.exitCode)}`
      } else if (c.ready === true && present(state.running)) {
        hasRunning = true
        ready++
      }
    }
    if (reason === 'Completed' && hasRunning) {
      const podReady = objs(status.conditions).some((c) => c.type === 'Ready' && c.status === 'True')
      reason = podReady ? 'Running' : 'NotReady'
    }
  }
  const deleting = present(meta.deletionTimestamp)
  if (deleting && status.reason === 'NodeLost') reason = 'Unknown'
  else if (deleting && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating'
  let restartText = String(restarts)
  if (restarts !== 0 && lastRestart !== 0)
    restartText = `${restarts} (${humanDuration(now - lastRestart)} ago)`
  return { ready: `${ready}/${total}`, reason, restarts: restartText }
}

const pods: TableConvertor = {
  columns: [
    name,
    col('Ready', 'Ready containers, of all.'),
    col('Status', 'The status of the pod, summed up from its phase and its containers.'),
    col('Restarts', 'Container restarts, with how long ago the last one was.'),
    age,
    wide('IP', 'The IP address of the pod.'),
    wide('Node', 'The node the pod runs on.'),
    wide('Nominated Node', 'The node the scheduler expects the pod to run on once preemption is over.'),
    wide('Readiness Gates', 'Readiness gates of the pod that are true, of all.'),
  ],
  row(o, now) {
    const pod = o as Obj
    const spec = obj(pod.spec)
    const status = obj(pod.status)
    const s = podSummary(pod, now)
    // The first pod IP; podIP wins over podIPs[0] when they differ, as in conversion to the
    // internal version.
    const ip = str(status.podIP) || str(obj(objs(status.podIPs)[0]).ip)
    const gates = objs(spec.readinessGates)
    let readiness = '<none>'
    if (gates.length > 0) {
      const conditions = objs(status.conditions)
      const trueCount = gates.filter(
        (g) => conditions.find((c) => c.type === g.conditionType)?.status === 'True',
      ).length
      readiness = `${trueCount}/${gates.length}`
    }
    return [
      nameOf(pod),
      s.ready,
      s.reason,
      s.restarts,
      ageOf(pod, now),
      orNone(ip),
      orNone(str(spec.nodeName)),
      orNone(str(status.nominatedNodeName)),
      readiness,
    ]
  },
}

const podTemplates: TableConvertor = {
  columns: [
    name,
    col('Containers', 'The containers of the pod template.'),
    col('Images', 'The images of the containers of the pod template.'),
    col('Pod Labels', 'The labels of the pod template.'),
  ],
  row(o) {
    const t = obj((o as Obj).template)
    const [containers, images] = containersAndImages(t)
    return [nameOf(o), containers, images, formatLabels(obj(t.metadata).labels)]
  },
}

// --- controllers ---------------------------------------------------------------------------------

const replicaColumns = (what: string) => [
  name,
  col('Desired', `Number of desired pods of the ${what}.`, { type: 'integer' }),
  col('Current', `Number of pods the ${what} runs.`, { type: 'integer' }),
  col('Ready', `Number of ready pods of the ${what}.`, { type: 'integer' }),
  age,
  containersCol,
  imagesCol,
  selectorCol,
]

const replicationControllers: TableConvertor = {
  columns: replicaColumns('replication controller'),
  row(o, now) {
    const rc = o as Obj
    const spec = obj(rc.spec)
    const status = obj(rc.status)
    const [containers, images] = containersAndImages(spec.template)
    return [
      nameOf(rc),
      int(spec.replicas),
      int(status.replicas),
      int(status.readyReplicas),
      ageOf(rc, now),
      containers,
      images,
      formatLabels(spec.selector),
    ]
  },
}

const replicaSets: TableConvertor = {
  columns: replicaColumns('replica set'),
  row(o, now) {
    const rs = o as Obj
    const spec = obj(rs.spec)
    const status = obj(rs.status)
    const [containers, images] = containersAndImages(spec.template)
    return [
      nameOf(rs),
      int(spec.replicas),
      int(status.replicas),
      int(status.readyReplicas),
      ageOf(rs, now),
      containers,
      images,
      labelSelector(spec.selector),
    ]
  },
}

const deployments: TableConvertor = {
  columns: [
    name,
    col('Ready', 'Ready pods, of those wanted.'),
    col('Up-to-date', 'Number of pods running the newest template.'),
    col('Available', 'Number of available pods (ready for at least minReadySeconds).'),
    age,
    containersCol,
    imagesCol,
    selectorCol,
  ],
  row(o, now) {
    const d = o as Obj
    const spec = obj(d.spec)
    const status = obj(d.status)
    const [containers, images] = containersAndImages(spec.template)
    return [
      nameOf(d),
      `${int(status.readyReplicas)}/${int(spec.replicas)}`,
      int(status.updatedReplicas),
      int(status.availableReplicas),
      ageOf(d, now),
      containers,
      images,
      selectorString(spec.selector),
    ]
  },
}

const statefulSets: TableConvertor = {
  columns: [name, col('Ready', 'Ready pods, of those wanted.'), age, containersCol, imagesCol],
  row(o, now) {
    const s = o as Obj
    const spec = obj(s.spec)
    const [containers, images] = containersAndImages(spec.template)
    return [
      nameOf(s),
      `${int(obj(s.status).readyReplicas)}/${int(spec.replicas)}`,
      ageOf(s, now),
      containers,
      images,
    ]
  },
}

const daemonSets: TableConvertor = {
  columns: [
    name,
    col('Desired', 'Number of nodes that should run the daemon pod.', { type: 'integer' }),
    col('Current', 'Number of nodes that run the daemon pod.', { type: 'integer' }),
    col('Ready', 'Number of nodes whose daemon pod is ready.', { type: 'integer' }),
    col('Up-to-date', 'Number of nodes that run the newest daemon pod.', { type: 'integer' }),
    col('Available', 'Number of nodes whose daemon pod is available.', { type: 'integer' }),
    col('Node Selector', 'The node selector of the daemon pods.'),
    age,
    containersCol,
    imagesCol,
    selectorCol,
  ],
  row(o, now) {
    const ds = o as Obj
    const spec = obj(ds.spec)
    const status = obj(ds.status)
    const [containers, images] = containersAndImages(spec.template)
    return [
      nameOf(ds),
      int(status.desiredNumberScheduled),
      int(status.currentNumberScheduled),
      int(status.numberReady),
      int(status.updatedNumberScheduled),
      int(status.numberAvailable),
      formatLabels(obj(obj(spec.template).spec).nodeSelector),
      ageOf(ds, now),
      containers,
      images,
      labelSelector(spec.selector),
    ]
  },
}

/** A Job's STATUS column: its terminal or current condition. */
export function jobStatus(job: Obj): string {
  const status = obj(job.status)
  const has = (t: string) => conditionTrue(status, t)
  if (has('Complete')) return 'Complete'
  if (has('Failed')) return 'Failed'
  if (obj(job.metadata).deletionTimestamp) return 'Terminating'
  if (has('Suspended')) return 'Suspended'
  if (has('FailureTarget')) return 'FailureTarget'
  if (has('SuccessCriteriaMet')) return 'SuccessCriteriaMet'
  return 'Running'
}

const jobs: TableConvertor = {
  columns: [
    name,
    col('Status', 'Where the job stands: Running, Complete, Failed, Suspended, ...'),
    col('Completions', 'The number of pods that succeeded, of those wanted.'),
    col('Duration', 'How long the job ran, or has run so far.'),
    age,
    containersCol,
    imagesCol,
    selectorCol,
  ],
  row(o, now) {
    const job = o as Obj
    const spec = obj(job.spec)
    const status = obj(job.status)
    const succeeded = int(status.succeeded)
    let completions: string
    if (typeof spec.completions === 'number') completions = `${succeeded}/${spec.completions}`
    else {
      const parallelism = int(spec.parallelism)
      completions = parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`
    }
    const start = typeof status.startTime === 'string' ? Date.parse(status.startTime) : NaN
    const end = typeof status.completionTime === 'string' ? Date.parse(status.completionTime) : NaN
    const duration = Number.isNaN(start) ? '' : humanDuration((Number.isNaN(end) ? now : end) - start)
    const [containers, images] = containersAndImages(spec.template)
    return [
      nameOf(job),
      jobStatus(job),
      completions,
      duration,
      ageOf(job, now),
      containers,
      images,
      labelSelector(spec.selector),
    ]
  },
}

const cronJobs: TableConvertor = {
  columns: [
    name,
    col('Schedule', 'The schedule in cron format.'),
    col('Timezone', 'The time zone of the schedule.'),
    col('Suspend', 'Whether new jobs are held back.', { type: 'boolean' }),
    col('Active', 'Number of jobs running now.', { type: 'integer' }),
    col('Last Schedule', 'When a job was last scheduled.'),
    age,
    containersCol,
    imagesCol,
    selectorCol,
  ],
  row(o, now) {
    const cj = o as Obj
    const spec = obj(cj.spec)
    const status = obj(cj.status)
    const jobSpec = obj(obj(spec.jobTemplate).spec)
    const [containers, images] = containersAndImages(jobSpec.template)
    const suspend = typeof spec.suspend === 'boolean' ? (spec.suspend ? 'True' : 'False') : '<unset>'
    return [
      nameOf(cj),
      str(spec.schedule),
      typeof spec.timeZone === 'string' ? spec.timeZone : '<none>',
      suspend,
      objs(status.active).length,
      status.lastScheduleTime ? since(status.lastScheduleTime, now) : '<none>',
      ageOf(cj, now),
      containers,
      images,
      labelSelector(jobSpec.selector),
    ]
  },
}

const controllerRevisions: TableConvertor = {
  columns: [
    name,
    col('Controller', 'The controller that owns the revision.'),
    col('Revision', 'The revision number.'),
    age,
  ],
  row(o, now) {
    const r = o as Obj
    const owner = objs(obj(r.metadata).ownerReferences).find((ref) => ref.controller === true)
    let controller = '<none>'
    if (owner) {
      const apiVersion = str(owner.apiVersion)
      const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : ''
      const kind = group === '' ? str(owner.kind) : `${str(owner.kind)}.${group}`
      controller = `${kind.toLowerCase()}/${str(owner.name)}`
    }
    return [nameOf(r), controller, int(r.revision), ageOf(r, now)]
  },
}

const podDisruptionBudgets: TableConvertor = {
  columns: [
    name,
    col('Min Available', 'Pods that must stay available.'),
    col('Max Unavailable', 'Pods that may be unavailable at most.'),
    col('Allowed Disruptions', 'Pods that may be disrupted now.', {
      type: 'integer',
    }),
    age,
  ],
  row(o, now) {
    const pdb = o as Obj
    const spec = obj(pdb.spec)
    return [
      nameOf(pdb),
      !present(spec.minAvailable) ? 'N/A' : intOrString(spec.minAvailable),
      !present(spec.maxUnavailable) ? 'N/A' : intOrString(spec.maxUnavailable),
      int(obj(pdb.status).disruptionsAllowed),
      ageOf(pdb, now),
    ]
  },
}

export const workloadPrinters: Record<string, TableConvertor> = {
  '/pods': pods,
  '/podtemplates': podTemplates,
  '/replicationcontrollers': replicationControllers,
  'apps/replicasets': replicaSets,
  'apps/deployments': deployments,
  'apps/statefulsets': statefulSets,
  'apps/daemonsets': daemonSets,
  'apps/controllerrevisions': controllerRevisions,
  'batch/jobs': jobs,
  'batch/cronjobs': cronJobs,
  'policy/poddisruptionbudgets': podDisruptionBudgets,
}
