/**
 * Facts about the built-in API that the OpenAPI data does not carry, kept by hand and merged by
 * scripts/generate-api.ts. Each one is what a v1.35 cluster shows (`kubectl api-resources`,
 * `kubectl get --raw /apis`) or what kube-apiserver's source fixes; change them only to follow
 * Kubernetes.
 *
 * Resource keys are `<group>/<resource>`, with '' for the core group (`/pods`, `apps/deployments`).
 */

/** A group the apiserver serves, with its versions, the preferred (and storage) version first. */
export interface ServedGroup {
  readonly group: string
  readonly versions: readonly string[]
}

/**
 * The group-versions k8ts serves: the stable ones of v1.35. Alpha and beta versions in the data
 * are left out of everything generated except the TypeScript types and the runtime schema.
 *
 * The order is discovery's order (`/apis`, aggregated discovery): kube-apiserver sorts groups by
 * the priority it gives each built-in group, with the core group first and the aggregator's own
 * group (apiregistration.k8s.io) at the head of /apis. Clients resolve a resource name that
 * several groups share (`events`) to the first group that has it. Within a group, the first
 * version is the preferred one, and also the version objects are stored in (kube-apiserver
 * stores a resource in the preferred version of its group unless told otherwise).
 */
export const servedGroups: readonly ServedGroup[] = [
  { group: '', versions: ['v1'] },
  { group: 'apiregistration.k8s.io', versions: ['v1'] },
  { group: 'apps', versions: ['v1'] },
  { group: 'events.k8s.io', versions: ['v1'] },
  { group: 'authentication.k8s.io', versions: ['v1'] },
  { group: 'authorization.k8s.io', versions: ['v1'] },
  { group: 'autoscaling', versions: ['v2', 'v1'] },
  { group: 'batch', versions: ['v1'] },
  { group: 'certificates.k8s.io', versions: ['v1'] },
  { group: 'networking.k8s.io', versions: ['v1'] },
  { group: 'policy', versions: ['v1'] },
  { group: 'rbac.authorization.k8s.io', versions: ['v1'] },
  { group: 'storage.k8s.io', versions: ['v1'] },
  { group: 'admissionregistration.k8s.io', versions: ['v1'] },
  { group: 'apiextensions.k8s.io', versions: ['v1'] },
  { group: 'scheduling.k8s.io', versions: ['v1'] },
  { group: 'coordination.k8s.io', versions: ['v1'] },
  { group: 'node.k8s.io', versions: ['v1'] },
  { group: 'discovery.k8s.io', versions: ['v1'] },
  { group: 'flowcontrol.apiserver.k8s.io', versions: ['v1'] },
  { group: 'resource.k8s.io', versions: ['v1'] },
]

/** Short names, as `kubectl api-resources` lists them (the REST storage's ShortNames()). */
export const shortNames: Readonly<Record<string, readonly string[]>> = {
  '/componentstatuses': ['cs'],
  '/configmaps': ['cm'],
  '/endpoints': ['ep'],
  '/events': ['ev'],
  '/limitranges': ['limits'],
  '/namespaces': ['ns'],
  '/nodes': ['no'],
  '/persistentvolumeclaims': ['pvc'],
  '/persistentvolumes': ['pv'],
  '/pods': ['po'],
  '/replicationcontrollers': ['rc'],
  '/resourcequotas': ['quota'],
  '/serviceaccounts': ['sa'],
  '/services': ['svc'],
  'apiextensions.k8s.io/customresourcedefinitions': ['crd', 'crds'],
  'apps/daemonsets': ['ds'],
  'apps/deployments': ['deploy'],
  'apps/replicasets': ['rs'],
  'apps/statefulsets': ['sts'],
  'autoscaling/horizontalpodautoscalers': ['hpa'],
  'batch/cronjobs': ['cj'],
  'certificates.k8s.io/certificatesigningrequests': ['csr'],
  'events.k8s.io/events': ['ev'],
  'networking.k8s.io/ingresses': ['ing'],
  'networking.k8s.io/ipaddresses': ['ip'],
  'networking.k8s.io/networkpolicies': ['netpol'],
  'policy/poddisruptionbudgets': ['pdb'],
  'scheduling.k8s.io/priorityclasses': ['pc'],
  'storage.k8s.io/storageclasses': ['sc'],
  'storage.k8s.io/volumeattributesclasses': ['vac'],
}

/**
 * Categories (the REST storage's Categories()): `kubectl get all` lists the resources in `all`;
 * the API extension points are in `api-extensions`.
 */
export const categories: Readonly<Record<string, readonly string[]>> = {
  '/pods': ['all'],
  '/replicationcontrollers': ['all'],
  '/services': ['all'],
  'admissionregistration.k8s.io/mutatingadmissionpolicies': ['api-extensions'],
  'admissionregistration.k8s.io/mutatingadmissionpolicybindings': ['api-extensions'],
  'admissionregistration.k8s.io/mutatingwebhookconfigurations': ['api-extensions'],
  'admissionregistration.k8s.io/validatingadmissionpolicies': ['api-extensions'],
  'admissionregistration.k8s.io/validatingadmissionpolicybindings': ['api-extensions'],
  'admissionregistration.k8s.io/validatingwebhookconfigurations': ['api-extensions'],
  'apiextensions.k8s.io/customresourcedefinitions': ['api-extensions'],
  'apiregistration.k8s.io/apiservices': ['api-extensions'],
  'apps/daemonsets': ['all'],
  'apps/deployments': ['all'],
  'apps/replicasets': ['all'],
  'apps/statefulsets': ['all'],
  'autoscaling/horizontalpodautoscalers': ['all'],
  'batch/cronjobs': ['all'],
  'batch/jobs': ['all'],
}

/**
 * Resources whose objects live in another resource's storage: kube-apiserver keeps
 * events.k8s.io events together with core events (one set of objects, two APIs), stored in the
 * core group's version. The key is the resource served, the value where its objects live.
 */
export const sharedStorage: Readonly<Record<string, { readonly group: string; readonly resource: string }>> =
  {
    'events.k8s.io/events': { group: '', resource: 'events' },
  }

/**
 * Definitions whose content is free-form JSON although the data types them as a bare `object`:
 * their Go types decode raw JSON themselves, so Kubernetes accepts any fields below them (an
 * embedded object in ControllerRevision.data, a managedFields entry's fieldsV1, a patch body).
 * The runtime schema marks them x-kubernetes-preserve-unknown-fields.
 */
export const freeFormDefinitions: readonly string[] = [
  'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1',
  'io.k8s.apimachinery.pkg.apis.meta.v1.Patch',
  'io.k8s.apimachinery.pkg.runtime.RawExtension',
]
