// Generates src/api/generated/protobuf/descriptor.json from the Kubernetes .proto files: the
// messages of the served group-versions and of apimachinery, as a protobufjs JSON descriptor
// (src/api/protobuf/ decodes and encodes with it).
//
//   node scripts/generate-protobuf.ts [--data <protos dir>] [--out <dir>]
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import protobuf from 'protobufjs'

const root = resolve(import.meta.dirname, '..')
export const defaultProtoPath = resolve(root, '../shared/data/kubernetes-v1.35-protos')

/** The proto packages of the group-versions the apiserver serves. */
const packages = [
  'api/admissionregistration/v1',
  'api/apps/v1',
  'api/authentication/v1',
  'api/authorization/v1',
  'api/autoscaling/v1',
  'api/autoscaling/v2',
  'api/batch/v1',
  'api/certificates/v1',
  'api/coordination/v1',
  'api/core/v1',
  'api/discovery/v1',
  'api/events/v1',
  'api/flowcontrol/v1',
  'api/networking/v1',
  'api/node/v1',
  'api/policy/v1',
  'api/rbac/v1',
  'api/resource/v1',
  'api/scheduling/v1',
  'api/storage/v1',
  'apimachinery/pkg/apis/meta/v1',
  'apimachinery/pkg/runtime',
  'apimachinery/pkg/runtime/schema',
  'apimachinery/pkg/util/intstr',
  'apimachinery/pkg/api/resource',
]

export function generateProtobuf(protoDir: string, outDir: string): void {
  const r = new protobuf.Root()
  r.resolvePath = (_origin, target) => join(protoDir, target)
  r.loadSync(
    packages.map((p) => `k8s.io/${p}/generated.proto`).filter((f) => existsSync(join(protoDir, f))),
    { keepCase: true },
  )
  r.resolveAll()
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, 'descriptor.json'), JSON.stringify(sortKeys(r.toJSON())))
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys)
  if (v === null || typeof v !== 'object') return v
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k])
  return out
}

if (import.meta.main) {
  const args = process.argv.slice(2)
  const arg = (name: string) => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : undefined
  }
  const out = arg('--out') ?? join(root, 'src/api/generated/protobuf')
  generateProtobuf(arg('--data') ?? process.env.K8TS_PROTO_DATA ?? defaultProtoPath, out)
  process.stderr.write(`generated ${out}\n`)
}
