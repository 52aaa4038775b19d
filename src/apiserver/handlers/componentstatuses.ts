import { request } from 'node:https'
import type { StoredObject } from '../../api/object.ts'
import type { Storage } from '../../storage/index.ts'
import type { Handler } from '../context.ts'
import type { ResourceEndpoint } from '../endpoint.ts'
import { methodNotSupported, notFound } from '../errors.ts'
import type { ResourceRequestInfo } from '../request-info.ts'
import { encoded, type CachedObject } from '../registry/watch-cache.ts'
import { ResourceRequest, type ResourceHandlerDeps } from './resources.ts'

/**
 * `componentstatuses` (`kubectl get cs`): the health of the store, the scheduler and the
 * controller-manager, probed when asked, as kube-apiserver did before the resource was
 * deprecated (it still answers, with a deprecation warning).
 */
export interface ComponentProbes {
  storage: Storage
  /** The components' health URLs; the defaults are the secure ports of kube-scheduler and kube-controller-manager. */
  scheduler?: string
  controllerManager?: string
}

interface Health {
  healthy: boolean
  message: string
  error: string
}

export function componentStatusHandler(
  deps: ResourceHandlerDeps,
  probes: ComponentProbes,
): (ep: ResourceEndpoint) => Handler {
  const components: Record<string, () => Promise<Health>> = {
    scheduler: () => probeHttps(probes.scheduler ?? 'https://127.0.0.1:10259/healthz'),
    'controller-manager': () => probeHttps(probes.controllerManager ?? 'https://127.0.0.1:10257/healthz'),
    'etcd-0': () => probeStorage(probes.storage),
  }
  return (ep) => async (ctx) => {
    const info = ctx.info as ResourceRequestInfo
    ctx.res.setHeader('Warning', '299 - "v1 ComponentStatus is deprecated in v1.19+"')
    const r = new ResourceRequest(ctx, ep, deps)
    const status = async (name: string, probe: () => Promise<Health>): Promise<CachedObject> => {
      const object = toComponentStatus(name, await probe())
      return { key: name, namespace: '', name, revision: 0, object, json: encoded(object) }
    }
    switch (info.verb) {
      case 'get': {
        const probe = components[info.name]
        if (!probe) throw notFound({ group: '', resource: 'componentstatuses' }, info.name)
        r.respondObject(200, await status(info.name, probe))
        return
      }
      case 'list': {
        const items = await Promise.all(Object.entries(components).map(([n, p]) => status(n, p)))
        r.respondList(items, { resourceVersion: '' })
        return
      }
      default:
        throw methodNotSupported({ group: '', resource: 'componentstatuses' }, info.verb)
    }
  }
}

function toComponentStatus(name: string, h: Health): StoredObject {
  const condition: Record<string, string> = { type: 'Healthy', status: h.healthy ? 'True' : 'False' }
  if (h.message !== '') condition.message = h.message
  if (h.error !== '') condition.error = h.error
  return { kind: 'ComponentStatus', apiVersion: 'v1', metadata: { name }, conditions: [condition] }
}

async function probeStorage(storage: Storage): Promise<Health> {
  try {
    await storage.currentRevision()
    return { healthy: true, message: 'ok', error: '' }
  } catch (err) {
    return { healthy: false, message: '', error: err instanceof Error ? err.message : String(err) }
  }
}

/** GET on a component's health endpoint: healthy on 200 with its body as the message. */
function probeHttps(url: string): Promise<Health> {
  return new Promise((resolve) => {
    const fail = (detail: string) =>
      resolve({ healthy: false, message: '', error: `Get "${url}": ${detail}` })
    const req = request(url, { rejectUnauthorized: false, timeout: 2000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString().trim()
        if (res.statusCode === 200) resolve({ healthy: true, message: body, error: '' })
        else resolve({ healthy: false, message: '', error: `unhealthy: ${res.statusCode ?? 0} ${body}` })
      })
      res.on('error', (err) => fail(err.message))
    })
    req.on('timeout', () => req.destroy(new Error('context deadline exceeded')))
    req.on('error', (err: NodeJS.ErrnoException) => {
      const u = new URL(url)
      fail(
        err.code === 'ECONNREFUSED'
          ? `dial tcp ${u.hostname}:${u.port}: connect: connection refused`
          : err.message,
      )
    })
    req.end()
  })
}
