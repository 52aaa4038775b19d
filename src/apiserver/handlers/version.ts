import { writeJson, type Handler } from '../context.ts'

/** The Kubernetes version this apiserver serves the API of. */
export const kubernetesVersion = { major: '1', minor: '35', patch: '0' }

/** GET /version: kubectl reads gitVersion; the gcloud kubectl dispatcher picks a client from minor. */
export function versionHandler(k8tsVersion: string): Handler {
  const body = Buffer.from(
    JSON.stringify({
      major: kubernetesVersion.major,
      minor: kubernetesVersion.minor,
      emulationMajor: kubernetesVersion.major,
      emulationMinor: kubernetesVersion.minor,
      minCompatibilityMajor: kubernetesVersion.major,
      minCompatibilityMinor: String(Number(kubernetesVersion.minor) - 1),
      gitVersion: `v${kubernetesVersion.major}.${kubernetesVersion.minor}.${kubernetesVersion.patch}-k8ts.${k8tsVersion}`,
      gitCommit: '',
      gitTreeState: 'clean',
      buildDate: '',
      goVersion: `node ${process.version}`,
      compiler: 'k8ts',
      platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
    }),
  )
  return async (ctx) => writeJson(ctx, 200, body)
}
