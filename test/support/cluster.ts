import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:https'
import type { IncomingHttpHeaders } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../src/apiserver/index.ts'
import type { ClientConfig } from '../../src/client/index.ts'
import { issueCertificate, readKubeconfigCredentials } from '../../src/pki/index.ts'

/** The logger components get in tests: silent unless K8TS_TEST_LOG names a level. */
export const testLog = pino({ level: process.env.K8TS_TEST_LOG ?? 'silent' })

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

export interface RawReply {
  code: number
  headers: IncomingHttpHeaders
  /** The body as it came, not decoded. */
  body: Buffer
}

export interface RequestOptions {
  body?: Buffer | string
  headers?: Record<string, string>
  /** Without the admin client certificate. */
  anonymous?: boolean
  /** On a connection of its own (with several worker threads, connections spread over them). */
  freshConnection?: boolean
}

export interface TestApiServer {
  readonly server: ApiServer
  readonly dataDir: string
  /** Runs kubectl against the server with the admin kubeconfig and a fresh cache directory. */
  kubectl(
    args: readonly string[],
    o?: { stdin?: string; env?: Record<string, string> },
  ): Promise<KubectlResult>
  /** One HTTPS request with the admin client certificate (unless `anonymous`). */
  request(method: string, path: string, o?: RequestOptions): Promise<RawReply>
  /** Stops the apiserver; its data directory is removed unless `keepData`. */
  stop(o?: { keepData?: boolean }): Promise<void>
}

/** An apiserver on a temporary SQLite store, on a free loopback port. */
export async function startTestApiServer(options: Partial<ApiServerOptions> = {}): Promise<TestApiServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'k8ts-apiserver-'))
  const server = await startApiServer({
    dataDir,
    securePort: 0,
    log: testLog,
    // As Kubernetes' own integration tests do: without the serviceaccount controller no pod
    // could be made; tests of service accounts turn the plugin back on.
    disableAdmissionPlugins: ['ServiceAccount'],
    ...options,
  })
  const cacheDir = join(dataDir, 'kubectl-cache')
  const creds = readKubeconfigCredentials(server.adminKubeconfig)
  return {
    server,
    dataDir,
    request: (method, path, o = {}) =>
      new Promise((resolve, reject) => {
        const req = request(
          new URL(path, server.url),
          {
            method,
            ca: creds.ca,
            ...(o.anonymous ? {} : { cert: creds.cert, key: creds.key }),
            ...(o.freshConnection ? { agent: new Agent({ keepAlive: false }) } : {}),
            // Every body framed by its length: without one Node sends a DELETE's body unframed,
            // which the server answers 400 before closing the connection.
            headers: {
              ...(o.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(o.body)) } : {}),
              ...o.headers,
            },
          },
          (res) => {
            const chunks: Buffer[] = []
            res.on('data', (d: Buffer) => chunks.push(d))
            res.on('end', () =>
              resolve({ code: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
            )
          },
        )
        req.on('error', reject)
        req.end(o.body)
      }),
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

/**
 * A client of the test apiserver as the kubelet of `nodeName` (system:node:<name> in
 * system:nodes), with a certificate from the cluster CA, so that the Node authorizer and
 * NodeRestriction judge what it does.
 */
export async function nodeClientConfig(
  api: Pick<TestApiServer, 'dataDir' | 'server'>,
  nodeName: string,
): Promise<ClientConfig> {
  const pki = join(api.dataDir, 'pki')
  const pair = await issueCertificate(
    { certPem: readFileSync(join(pki, 'ca.crt'), 'utf8'), keyPem: readFileSync(join(pki, 'ca.key'), 'utf8') },
    { subject: { commonName: `system:node:${nodeName}`, organizations: ['system:nodes'] }, usage: 'client' },
  )
  return { server: api.server.url, ca: api.server.caPem, cert: pair.certPem, key: pair.keyPem }
}
