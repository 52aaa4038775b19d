import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../src/apiserver/index.ts'

/** The real kubectl the tests drive (v1.33, as shipped with the Google Cloud SDK on these machines). */
export const kubectlPath = '/usr/lib/google-cloud-sdk/bin/kubectl.1.33'
export const kubectlMissing = existsSync(kubectlPath)
  ? undefined
  : `kubectl is not installed at ${kubectlPath}`

export interface KubectlResult {
  code: number | null
  stdout: string
  stderr: string
}

export interface TestApiServer {
  readonly server: ApiServer
  readonly dataDir: string
  /** Runs kubectl against the server with the admin kubeconfig and a fresh cache directory. */
  kubectl(
    args: readonly string[],
    o?: { stdin?: string; env?: Record<string, string> },
  ): Promise<KubectlResult>
  /** Stops the apiserver; its data directory is removed unless `keepData`. */
  stop(o?: { keepData?: boolean }): Promise<void>
}

/** An apiserver on a temporary SQLite store, on a free loopback port. */
export async function startTestApiServer(options: Partial<ApiServerOptions> = {}): Promise<TestApiServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'k8ts-apiserver-'))
  const server = await startApiServer({
    dataDir,
    securePort: 0,
    log: pino({ level: process.env.K8TS_TEST_LOG ?? 'silent' }),
    ...options,
  })
  const cacheDir = join(dataDir, 'kubectl-cache')
  return {
    server,
    dataDir,
    kubectl: (args, o = {}) =>
      new Promise((resolve, reject) => {
        const child = spawn(
          kubectlPath,
          ['--kubeconfig', server.adminKubeconfig, '--cache-dir', cacheDir, ...args],
          {
            env: { ...process.env, ...o.env },
            stdio: ['pipe', 'pipe', 'pipe'],
          },
        )
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
        child.once('error', reject)
        child.once('close', (code) => {
          clearTimeout(timer)
          resolve({ code, stdout, stderr })
        })
        child.stdin.end(o.stdin ?? '')
      }),
    async stop(o = {}) {
      await server.stop()
      if (!o.keepData) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
