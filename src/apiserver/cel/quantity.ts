import type { Environment } from '@marcbachmann/cel-js'
import {
  addQuantities,
  compareQuantities,
  formatQuantity,
  parseQuantity,
  type Quantity,
} from '../../api/quantity.ts'

/**
 * Kubernetes' CEL quantity library (k8s.io/apiserver/pkg/cel/library/quantity.go): quantity(),
 * isQuantity(), and arithmetic and comparisons on resource quantities, exact to the nano.
 */
export class KubernetesQuantity {
  readonly q: Quantity

  constructor(q: Quantity) {
    this.q = q
  }

  static parse(s: string): KubernetesQuantity {
    const q = parseQuantity(s)
    if (!q)
      throw new Error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
      )
    return new KubernetesQuantity(q)
  }

  add(o: unknown): KubernetesQuantity {
    return new KubernetesQuantity(addQuantities(this.q, quantityOf(o)))
  }

  compareTo(o: unknown): number {
    return compareQuantities(this.q, quantityOf(o))
  }

  equals(o: unknown): boolean {
    return o instanceof KubernetesQuantity && compareQuantities(this.q, o.q) === 0
  }

  toString(): string {
    return formatQuantity(this.q)
  }
}

const nano = 10n ** 9n
const maxInt64 = 2n ** 63n - 1n

function quantityOf(o: unknown): Quantity {
  if (o instanceof KubernetesQuantity) return o.q
  if (typeof o === 'bigint') return { nanos: o * nano, format: 'DecimalSI' }
  throw new Error('no such overload')
}

function isInteger(q: Quantity): boolean {
  return q.nanos % nano === 0n && q.nanos / nano <= maxInt64 && q.nanos / nano >= -maxInt64 - 1n
}

export function registerQuantity(env: Environment): void {
  env.registerType('kubernetes.Quantity', { ctor: KubernetesQuantity })
  env.registerFunction('quantity(string): kubernetes.Quantity', (s: string) => KubernetesQuantity.parse(s))
  env.registerFunction('isQuantity(string): bool', (s: string) => parseQuantity(s) !== undefined)
  const T = 'kubernetes.Quantity'
  env.registerFunction(`${T}.sign(): int`, (x: KubernetesQuantity) => BigInt(Math.sign(Number(x.q.nanos))))
  env.registerFunction(`${T}.isInteger(): bool`, (x: KubernetesQuantity) => isInteger(x.q))
  env.registerFunction(`${T}.asInteger(): int`, (x: KubernetesQuantity) => {
    if (!isInteger(x.q)) throw new Error('cannot convert value to integer')
    return x.q.nanos / nano
  })
  env.registerFunction(
    `${T}.asApproximateFloat(): double`,
    (x: KubernetesQuantity) => Number(x.q.nanos) / 1e9,
  )
  env.registerFunction(`${T}.add(${T}): ${T}`, (x: KubernetesQuantity, y: KubernetesQuantity) => x.add(y))
  env.registerFunction(`${T}.add(int): ${T}`, (x: KubernetesQuantity, y: bigint) => x.add(y))
  env.registerFunction(`${T}.sub(${T}): ${T}`, (x: KubernetesQuantity, y: KubernetesQuantity) =>
    x.add(new KubernetesQuantity({ nanos: -y.q.nanos, format: y.q.format })),
  )
  env.registerFunction(`${T}.sub(int): ${T}`, (x: KubernetesQuantity, y: bigint) => x.add(-y))
  env.registerFunction(`${T}.compareTo(${T}): int`, (x: KubernetesQuantity, y: KubernetesQuantity) =>
    BigInt(x.compareTo(y)),
  )
  env.registerFunction(
    `${T}.isLessThan(${T}): bool`,
    (x: KubernetesQuantity, y: KubernetesQuantity) => x.compareTo(y) < 0,
  )
  env.registerFunction(
    `${T}.isGreaterThan(${T}): bool`,
    (x: KubernetesQuantity, y: KubernetesQuantity) => x.compareTo(y) > 0,
  )
  env.registerOperator(`${T} == ${T}`, (x: KubernetesQuantity, y: KubernetesQuantity) => x.equals(y))
  env.registerFunction(`string(${T}): string`, (x: KubernetesQuantity) => x.toString())
}
