/**
 * For the kubelet's tests: what the kubelet is handed from its informers is shared with every
 * other reader, so tests hand it objects that throw when changed.
 */
export function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x)
    Object.freeze(v)
  }
  return v
}
