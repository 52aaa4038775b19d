import {
  builtin,
  loadKubeconfig,
  ResourceClient,
  RestClient,
  type ObjectLike,
} from '../../src/client/index.ts'
import {
  startControllerManager,
  type ControllerManager,
  type ControllerManagerOptions,
} from '../../src/controllers/index.ts'
import { startTestApiServer, testLog, type TestApiServer } from './cluster.ts'
import { markPodsReady } from './ready-pods.ts'

export interface TestControlPlaneOptions extends Partial<Omit<ControllerManagerOptions, 'client'>> {
  /** Report every pod Running and Ready, standing in for kubelets (default true). */
  readyPods?: boolean
  /** Namespaces to create before the controllers start. */
  namespaces?: readonly string[]
}

/**
 * An apiserver on a temporary store, an admin client of it, and a controller-manager against it
 * with least privilege, as `k8ts up` runs it: as system:kube-controller-manager, each controller
 * as its own ServiceAccount (so every test goes through RBAC as the controllers do in a cluster).
 */
export interface TestControlPlane {
  readonly api: TestApiServer
  readonly rest: RestClient
  /** The running manager; a test may replace it (failover), and stop() stops whichever is set. */
  manager: ControllerManager
  /** A typed client of a built-in resource. */
  client<T extends ObjectLike>(group: string, version: string, resource: string): ResourceClient<T>
  stop(): Promise<void>
}

export async function startTestControlPlane(o: TestControlPlaneOptions = {}): Promise<TestControlPlane> {
  const { readyPods = true, namespaces = [], ...managerOptions } = o
  const api = await startTestApiServer()
  const rest = new RestClient(loadKubeconfig(api.server.adminKubeconfig))
  const client = <T extends ObjectLike>(group: string, version: string, resource: string) =>
    new ResourceClient<T>(rest, builtin(group, version, resource))
  const nsClient = client('', 'v1', 'namespaces')
  for (const name of namespaces)
    await nsClient.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })
  const kubelets = readyPods ? markPodsReady(rest) : undefined
  const plane: TestControlPlane = {
    api,
    rest,
    manager: startControllerManager({
      client: loadKubeconfig(api.server.controllerManagerKubeconfig),
      useServiceAccountCredentials: true,
      log: testLog,
      ...managerOptions,
    }),
    client,
    async stop() {
      await kubelets?.stop()
      await plane.manager.stop()
      await rest.close()
      await api.stop()
    },
  }
  return plane
}
