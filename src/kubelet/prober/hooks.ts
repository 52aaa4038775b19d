/**
 * Lifecycle hooks (pkg/kubelet/lifecycle handlers): postStart runs right after a container
 * started, preStop before it is stopped. A handler is an exec in the container (through the
 * runtime's ExecSync), an HTTP GET to it (through the ProbeNetwork; any answer counts as done, only
 * a failure to get one fails the hook), or a sleep on the clock.
 *
 * runLifecycleHandler resolves with undefined when the hook succeeded and with the message of the
 * FailedPostStartHook / FailedPreStopHook event when it failed; aborting `signal` (the grace
 * period ran out) gives up waiting and resolves with undefined.
 */
import type { Container, LifecycleHandler, Pod } from '../../api/generated/types/core-v1.ts'
import type { Clock } from '../../base/clock.ts'
import type { RuntimeService } from '../runtime/runtime.ts'
import type { ProbeNetwork } from './network.ts'
import { goQuote, httpGetFollowingRedirects, httpRequestFor, lifecycleUserAgent } from './probe.ts'

export const reasonFailedPostStartHook = 'FailedPostStartHook'
export const reasonFailedPreStopHook = 'FailedPreStopHook'
/** The waiting reason of a container whose postStart hook failed. */
export const reasonPostStartHookError = 'PostStartHookError'

/** How long an httpGet hook may take when nothing else bounds it (no timeout upstream either, but we need one). */
const httpHookTimeoutMs = 60_000

export interface HookContext {
  runtime: Pick<RuntimeService, 'execSync'>
  network: ProbeNetwork
  clock: Clock
  pod: Readonly<Pod>
  container: Readonly<Container>
  containerId: string
  podIP: string
  signal?: AbortSignal
}

export async function runLifecycleHandler(
  handler: Readonly<LifecycleHandler>,
  ctx: HookContext,
): Promise<string | undefined> {
  const podName = `${ctx.pod.metadata?.name ?? ''}_${ctx.pod.metadata?.namespace ?? ''}(${ctx.pod.metadata?.uid ?? ''})`
  const where = `for Container ${goQuote(ctx.container.name)} in Pod ${goQuote(podName)}`
  try {
    if (handler.exec !== undefined) {
      const cmd = handler.exec.command ?? []
      const reply = await ctx.runtime.execSync(
        { containerId: ctx.containerId, cmd, timeout: 0 },
        ctx.signal ? { signal: ctx.signal } : {},
      )
      if (reply.exitCode === 0) return undefined
      const stderr = reply.stderr.toString()
      const output = Buffer.concat([reply.stdout, reply.stderr]).toString()
      return (
        `Exec lifecycle hook ([${cmd.join(' ')}]) ${where} failed - error: ` +
        `command '${cmd.join(' ')}' exited with ${reply.exitCode}: ${stderr}, message: ${goQuote(output)}`
      )
    }
    if (handler.httpGet !== undefined) {
      try {
        const request = httpRequestFor(handler.httpGet, ctx, {
          userAgent: lifecycleUserAgent,
          timeoutMs: httpHookTimeoutMs,
        })
        await httpGetFollowingRedirects(ctx.network, ctx.clock, request)
        return undefined
      } catch (err) {
        return `HTTP lifecycle hook (${handler.httpGet.path ?? ''}) ${where} failed - error: ${(err as Error).message}`
      }
    }
    if (handler.sleep !== undefined) {
      await ctx.clock.sleep(handler.sleep.seconds * 1000, ctx.signal)
      return undefined
    }
    if (handler.tcpSocket !== undefined) {
      // Deprecated and never run by the kubelet; kept for the API's sake (upstream says the same).
      return `Cannot run handler: tcpSocket is not supported as a lifecycle hook ${where}`
    }
    return `Cannot run handler: invalid handler ${where}`
  } catch (err) {
    if (ctx.signal?.aborted) return undefined
    if (handler.exec !== undefined) {
      const cmd = handler.exec.command ?? []
      return `Exec lifecycle hook ([${cmd.join(' ')}]) ${where} failed - error: ${(err as Error).message}, message: ""`
    }
    return `Lifecycle hook ${where} failed - error: ${(err as Error).message}`
  }
}
