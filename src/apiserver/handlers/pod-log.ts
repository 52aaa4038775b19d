/**
 * pods/log: `GET /api/v1/namespaces/{ns}/pods/{name}/log` (kubectl logs), proxied to the kubelet
 * of the pod's node as upstream's LogREST and LogLocation do:
 *
 *   1. the query is PodLogOptions: one that does not decode is a 400, one that does not validate
 *      a 422 Invalid on kind PodLogOptions;
 *   2. the container: the one named, which the pod must have; else the pod's only container; a
 *      pod with several needs a name (400, naming them);
 *   3. a pod on no node yet has no log: an empty answer;
 *   4. GET https://{node InternalIP}:{daemonEndpoints kubelet port}/containerLogs/{ns}/{pod}/{container}
 *      with the options, as the apiserver's kubelet client; the kubelet's answer goes to the
 *      client as it comes (text/plain, chunk by chunk: a followed log streams), or, when it is not
 *      a 2xx, becomes a Status: 400 → BadRequest with the kubelet's words (a waiting container,
 *      no previous instance), 500 → InternalError, others → the generic response for the code.
 */
import type { IncomingMessage } from 'node:http'
import { pipeline } from 'node:stream/promises'
import type { Node, Pod } from '../../api/generated/types/core-v1.ts'
import {
  podLogOptionsFromQuery,
  podLogQuery,
  PodLogQueryError,
  validatePodLogOptions,
  type PodLogOptions,
} from '../../api/pod-log-options.ts'
import type { Subresource } from '../endpoint.ts'
import {
  ApiError,
  badRequest,
  internalError,
  invalid,
  methodNotSupported,
  serviceUnavailable,
} from '../errors.ts'
import { kubeletUrl, type KubeletClient } from '../kubelet-client.ts'
import type { RegistryStore } from '../registry/store.ts'
import type { ResourceRequestInfo } from '../request-info.ts'

/** How much of a kubelet's error answer goes into the Status (upstream's maxReadLength). */
const maxErrorBytes = 50_000

export function podLogSubresource(o: {
  /** The apiserver's kubelet client; without it the log answers 503. */
  kubelets: KubeletClient | undefined
  nodes: () => RegistryStore | undefined
}): Subresource {
  return {
    group: '',
    version: 'v1',
    kind: 'Pod',
    verbs: ['get'],
    handle: async (ctx, ep) => {
      const info = ctx.info as ResourceRequestInfo
      if (info.verb !== 'get') throw methodNotSupported({ group: '', resource: 'pods/log' }, info.verb)
      let options: PodLogOptions
      try {
        options = podLogOptionsFromQuery(ctx.query)
      } catch (err) {
        if (err instanceof PodLogQueryError) throw badRequest(err.message)
        throw err
      }
      const errors = validatePodLogOptions(options)
      if (errors.length > 0) throw invalid({ group: '', kind: 'PodLogOptions' }, info.name, errors)
      if (!ep.store) throw new Error('pods have no store')
      const pod = (await ep.store.get(info.namespace, info.name)).object as Readonly<Pod>
      const container = logContainer(pod, options.container)
      const nodeName = pod.spec?.nodeName ?? ''
      if (nodeName === '') {
        ctx.res.writeHead(200, { 'Content-Type': 'text/plain' })
        ctx.res.end()
        return
      }
      if (!o.kubelets)
        throw serviceUnavailable('pods/log needs a kubelet client, and this apiserver has none')
      const nodes = o.nodes()
      if (!nodes) throw new Error('nodes have no store')
      const node = (await nodes.get('', nodeName)).object as Readonly<Node>
      const path = ['containerLogs', info.namespace, info.name, container].map(encodeURIComponent).join('/')
      const url = kubeletUrl(node, `/${path}?${podLogQuery(options).toString()}`)
      if (!url) throw serviceUnavailable(`node "${nodeName}" has no address to reach its kubelet`)
      let answer: IncomingMessage
      try {
        answer = await o.kubelets.stream(url, ctx.signal)
      } catch (err) {
        if (ctx.signal.aborted) return
        throw internalError(
          new Error(`cannot reach the kubelet of node "${nodeName}": ${(err as Error).message}`),
        )
      }
      const code = answer.statusCode ?? 0
      if (code < 200 || code > 206) throw await kubeletError(answer, code, info.name)
      ctx.res.writeHead(200, { 'Content-Type': 'text/plain' })
      // Each chunk is written as it arrives: a followed log reaches the client line by line.
      ctx.res.flushHeaders()
      try {
        await pipeline(answer, ctx.res)
      } catch (err) {
        // The client went away (or the kubelet did): the answer is over either way.
        ctx.log.debug({ err: (err as Error).message }, 'pods/log stream ended early')
      }
    },
  }
}

/** validateContainer: the container whose log to read. */
export function logContainer(pod: Readonly<Pod>, container: string | undefined): string {
  const name = pod.metadata?.name ?? ''
  const containers = pod.spec?.containers ?? []
  if (container === undefined || container === '') {
    if (containers.length === 1) return containers[0]?.name ?? ''
    if (containers.length === 0) throw badRequest(`a container name must be specified for pod ${name}`)
    const all = [...(pod.spec?.initContainers ?? []), ...containers, ...(pod.spec?.ephemeralContainers ?? [])]
    throw badRequest(
      `a container name must be specified for pod ${name}, choose one of: [${all.map((c) => c.name).join(' ')}]`,
    )
  }
  const known = [...(pod.spec?.initContainers ?? []), ...containers, ...(pod.spec?.ephemeralContainers ?? [])]
  if (!known.some((c) => c.name === container))
    throw badRequest(`container ${container} is not valid for pod ${name}`)
  return container
}

/** GenericHttpResponseChecker: a kubelet's error answer as the Status the client gets. */
export async function kubeletError(
  answer: AsyncIterable<unknown> & { destroy(): void },
  code: number,
  name: string,
): Promise<ApiError> {
  let body = ''
  for await (const chunk of answer) {
    body += (chunk as Buffer).toString('utf8')
    if (body.length >= maxErrorBytes) {
      answer.destroy()
      break
    }
  }
  body = body.slice(0, maxErrorBytes)
  if (code === 400) return badRequest(body)
  if (code === 500) return internalError(new Error(body))
  const reason =
    code === 404 ? 'NotFound' : code === 403 ? 'Forbidden' : code === 401 ? 'Unauthorized' : 'Unknown'
  const generic =
    code === 404
      ? 'the server could not find the requested resource'
      : `the server responded with the status code ${code} but did not return more information`
  return new ApiError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `${generic} ( pods/log ${name})`,
    reason,
    details: { name, kind: 'pods/log', causes: [{ reason: 'UnexpectedServerResponse', message: body }] },
    code,
  })
}
