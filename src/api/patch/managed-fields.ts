import type { ManagedFieldsEntry } from '../generated/types/meta-v1.ts'
import { deepEqual, hasNoMembers, type StoredObject } from '../object.ts'
import {
  field,
  fieldsOf,
  items,
  mapValues,
  resolve,
  valueType,
  type ResolvedField,
  type SchemaNode,
} from '../schema.ts'

/**
 * Field ownership, as server-side apply tracks it in metadata.managedFields: for every manager
 * the set of fields it last applied (operation Apply) or changed (operation Update), in the
 * FieldsV1 format:
 *
 *   {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
 *       "k:{\"name\":\"web\"}": {".": {}, "f:image": {}}}}}}}
 *
 * `f:<name>` is a field or map key, `k:<json>` an item of an associative list (by its keys),
 * `v:<json>` an item of a set, `.` the node itself. Scalars, atomic lists and atomic maps are
 * leaves. The same walk gives the value of a field for a path, so ownership and values meet.
 */
export type PathElement = string
export type FieldPath = readonly PathElement[]

/** A path's joined form: how FieldSet and the values of fieldSetOf key it. */
export function pathKey(p: FieldPath): string {
  return p.join('\u0000')
}

/** A set of field paths, keyed by their joined form. */
export class FieldSet {
  readonly #paths = new Map<string, FieldPath>()

  static of(paths: Iterable<FieldPath>): FieldSet {
    const s = new FieldSet()
    for (const p of paths) s.add(p)
    return s
  }

  add(p: FieldPath): void {
    this.#paths.set(pathKey(p), p)
  }

  has(p: FieldPath): boolean {
    return this.#paths.has(pathKey(p))
  }

  delete(p: FieldPath): void {
    this.#paths.delete(pathKey(p))
  }

  get size(): number {
    return this.#paths.size
  }

  paths(): FieldPath[] {
    return [...this.#paths.values()]
  }

  union(other: FieldSet): FieldSet {
    const s = FieldSet.of(this.paths())
    for (const p of other.paths()) s.add(p)
    return s
  }

  minus(other: FieldSet): FieldSet {
    return FieldSet.of(this.paths().filter((p) => !other.has(p)))
  }

  intersect(other: FieldSet): FieldSet {
    return FieldSet.of(this.paths().filter((p) => other.has(p)))
  }

  /**
   * The FieldsV1 tree, its keys sorted at every level. The paths are added in element-wise sorted
   * order, so each node's keys are made in sorted order (no FieldsV1 key looks like an integer,
   * which objects would put first).
   */
  toFieldsV1(): Record<string, unknown> {
    const root: Record<string, unknown> = {}
    for (const p of this.paths().sort(treeOrder)) {
      let node = root
      for (const e of p) {
        let child = node[e] as Record<string, unknown> | undefined
        if (!child) node[e] = child = {}
        node = child
      }
    }
    return root
  }

  static fromFieldsV1(tree: unknown): FieldSet {
    const s = new FieldSet()
    const walk = (node: unknown, prefix: PathElement[]) => {
      if (node === null || typeof node !== 'object') return
      const entries = Object.entries(node as Record<string, unknown>)
      for (const [k, v] of entries) {
        if (k === '.') {
          s.add([...prefix, '.'])
          continue
        }
        const path = [...prefix, k]
        const children = v !== null && typeof v === 'object' ? Object.keys(v) : []
        if (children.length === 0) s.add(path)
        else walk(v, path)
      }
    }
    walk(tree, [])
    return s
  }
}

/** Paths element by element, as the keys of the tree they make sort; a prefix first. */
function treeOrder(a: FieldPath, b: FieldPath): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a[i] as string
    const y = b[i] as string
    if (x !== y) return x < y ? -1 : 1
  }
  return a.length - b.length
}

/** How a list is merged and owned: by keys, as a set, or as one atomic value. */
export function listKind(
  f: ResolvedField | undefined,
): { kind: 'map'; keys: readonly string[] } | { kind: 'set' } | { kind: 'atomic' } {
  if (!f) return { kind: 'atomic' }
  if (f.listType === 'map' && f.listMapKeys && f.listMapKeys.length > 0)
    return { kind: 'map', keys: f.listMapKeys }
  if (f.listType === 'set') return { kind: 'set' }
  if (f.listType === undefined && f.patchMergeKey && (f.patchStrategy ?? '').includes('merge')) {
    return { kind: 'map', keys: [f.patchMergeKey] }
  }
  if (f.listType === undefined && (f.patchStrategy ?? '').includes('merge')) return { kind: 'set' }
  return { kind: 'atomic' }
}

/**
 * The `k:` element of an associative list item: its key fields, sorted by name. A key field the
 * item leaves out takes its default (a port's protocol is TCP), as structured-merge-diff does, so
 * an applied port without a protocol is the live port with protocol TCP.
 */
export function keyElement(
  item: Record<string, unknown>,
  keys: readonly string[],
  itemField: ResolvedField | undefined,
): PathElement {
  const k: Record<string, unknown> = {}
  for (const name of keys.length === 1 ? keys : [...keys].sort()) {
    const v = item[name] ?? keyDefault(itemField, name)
    if (v !== undefined) k[name] = v
  }
  return `k:${JSON.stringify(k)}`
}

/**
 * Defaults of list-map key fields, from the `+default` markers of the Go types, for as long as
 * the generated schema does not carry them.
 */
const keyFieldDefaults: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  'io.k8s.api.core.v1.ContainerPort': { protocol: 'TCP' },
  'io.k8s.api.core.v1.ServicePort': { protocol: 'TCP' },
}

function keyDefault(itemField: ResolvedField | undefined, name: string): unknown {
  if (!itemField) return undefined
  const fromSchema = field(itemField.node, name)?.node.default
  if (fromSchema !== undefined) return fromSchema
  const defaults = itemField.ref === undefined ? undefined : keyFieldDefaults[itemField.ref]
  return defaults && Object.hasOwn(defaults, name) ? defaults[name] : undefined
}

/** The field of a kind's root, to start a walk from. */
export function rootField(node: SchemaNode): ResolvedField {
  return {
    node,
    ref: undefined,
    patchStrategy: undefined,
    patchMergeKey: undefined,
    listType: undefined,
    listMapKeys: undefined,
    mapType: undefined,
    type: valueType(node),
  }
}

export interface FieldSetOptions {
  /** Paths left out, with everything below them. */
  ignore: (p: FieldPath) => boolean
  /**
   * Whose set it is. An Apply owns what its configuration sets (structured-merge-diff's
   * ToFieldSet): leaves, list items and the entries of maps, but not a map field itself. An
   * Update also owns the maps it creates, so its entries read `f:labels: {.: {}, f:app: {}}`.
   */
  operation: 'Apply' | 'Update'
  /**
   * Filled, when given, with the value at each path the walk adds that holds one (leaves, atomic
   * lists and maps, set items; not `.`), by pathKey: what valueAt would find there.
   */
  values?: Map<string, unknown>
}

/** Every field path an object sets, under the schema of its kind. */
export function fieldSetOf(value: unknown, schema: SchemaNode | undefined, o: FieldSetOptions): FieldSet {
  const s = new FieldSet()
  walkValue(value, schema === undefined ? undefined : rootField(schema), [], s, o)
  return s
}

function walkValue(
  v: unknown,
  f: ResolvedField | undefined,
  path: PathElement[],
  out: FieldSet,
  o: FieldSetOptions,
): void {
  if (path.length > 0 && o.ignore(path)) return
  const shape = shapeOf(v, f, path)
  switch (shape.kind) {
    case 'absent':
      return
    case 'leaf':
      addValue(out, path, v, o)
      return
    case 'set':
      for (const x of v as unknown[]) addValue(out, [...path, `v:${JSON.stringify(x)}`], x, o)
      return
    case 'listMap': {
      const item = f ? items(f.node) : undefined
      for (const x of v as unknown[]) {
        if (x === null || typeof x !== 'object' || Array.isArray(x)) continue
        const e = keyElement(x as Record<string, unknown>, shape.keys, item)
        walkItem(x as Record<string, unknown>, item, [...path, e], out, o)
      }
      return
    }
    case 'object': {
      const { isMap, node } = shape
      if (isMap && path.length > 0 && o.operation === 'Update') out.add([...path, '.'])
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        const child = node ? (isMap ? mapValues(f?.node ?? {}) : field(f?.node ?? {}, k)) : undefined
        const childPath = [...path, `f:${k}`]
        const before = out.size
        walkValue(x, child, childPath, out, o)
        // An applied map entry is owned itself, whatever its value (ToFieldSet's visitMapItems).
        if (isMap && o.operation === 'Apply' && !out.has(childPath) && !o.ignore(childPath))
          out.add(out.size > before ? [...childPath, '.'] : childPath)
      }
      return
    }
  }
}

/**
 * What a create records for its manager: fieldSetOf(value, schema, { ignore, operation: 'Update' })
 * as its FieldsV1 tree, built in one walk, node by node (no path is joined into a key, and no list
 * of every path sorted). Every create makes one.
 */
export function updateFieldsV1(
  value: unknown,
  schema: SchemaNode | undefined,
  ignore: (p: FieldPath) => boolean,
): Record<string, unknown> {
  return treeOf(value, schema === undefined ? undefined : rootField(schema), [], ignore) ?? {}
}

type Tree = Record<string, unknown>

/**
 * A FieldsV1 node being made: children are added as the walk finds them, in the object's order,
 * and the keys are sorted at the end only when they did not come in order (the same key twice,
 * from duplicate list keys, is merged).
 */
class TreeNode {
  /** The children by key, in the order added; the object is made once, at the end. */
  readonly #children = new Map<PathElement, Tree>()
  #last: string | undefined
  #inOrder = true

  add(key: PathElement, child: Tree): void {
    const had = this.#children.get(key)
    if (had !== undefined) {
      this.#children.set(key, mergedTree(had, child))
      return
    }
    if (this.#last !== undefined && key < this.#last) this.#inOrder = false
    this.#last = key
    this.#children.set(key, child)
  }

  /**
   * The node, keys sorted; undefined when nothing was added. Made in one go, in key order: an
   * object that grows key by key as the walk finds them, and is then made again sorted, was most
   * of what recording a create's managedFields cost in the server.
   */
  done(): Tree | undefined {
    if (this.#last === undefined) return undefined
    const children = this.#children
    const out: Tree = {}
    for (const k of this.#inOrder ? children.keys() : sortedKeys([...children.keys()]))
      out[k] = children.get(k)
    return out
  }
}

/** Insertion sort: a node has a handful of keys, and Array#sort's work space is garbage. */
function sortedKeys(keys: string[]): string[] {
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i] as string
    let j = i - 1
    for (; j >= 0 && (keys[j] as string) > k; j--) keys[j + 1] = keys[j] as string
    keys[j + 1] = k
  }
  return keys
}

/** walkValue's paths below `path` as a tree (undefined: none); `path` is a stack, left as found. */
function treeOf(
  v: unknown,
  f: ResolvedField | undefined,
  path: PathElement[],
  ignore: (p: FieldPath) => boolean,
): Tree | undefined {
  if (path.length > 0 && ignore(path)) return undefined
  const shape = shapeOf(v, f, path)
  switch (shape.kind) {
    case 'absent':
      return undefined
    case 'leaf':
      return {}
    case 'set': {
      const node = new TreeNode()
      for (const x of v as unknown[]) node.add(`v:${JSON.stringify(x)}`, {})
      return node.done()
    }
    case 'listMap': {
      const item = f ? items(f.node) : undefined
      const node = new TreeNode()
      for (const x of v as unknown[]) {
        if (x === null || typeof x !== 'object' || Array.isArray(x)) continue
        const o = x as Record<string, unknown>
        const e = keyElement(o, shape.keys, item)
        path.push(e)
        // An item owns itself ('.') and its fields, as walkItem adds them.
        const fields = new TreeNode()
        fields.add('.', {})
        const itemFields = item ? fieldsOf(item.node) : undefined
        const elements = item ? fieldElements(item.node) : undefined
        for (const k in o) {
          const child = item ? (itemFields?.get(k) ?? mapValues(item.node)) : undefined
          addChild(fields, o[k], child, elements?.get(k) ?? `f:${k}`, path, ignore)
        }
        path.pop()
        node.add(e, fields.done() ?? {})
      }
      return node.done()
    }
    case 'object': {
      const { isMap, node: schemaNode } = shape
      const node = new TreeNode()
      if (isMap && path.length > 0) node.add('.', {})
      const o = v as Record<string, unknown>
      const each = schemaNode && isMap ? mapValues(schemaNode) : undefined
      const fields = schemaNode && !isMap ? fieldsOf(schemaNode) : undefined
      const elements = schemaNode && !isMap ? fieldElements(schemaNode) : undefined
      for (const k in o) {
        const child = schemaNode ? (each ?? fields?.get(k) ?? mapValues(schemaNode)) : undefined
        addChild(node, o[k], child, elements?.get(k) ?? `f:${k}`, path, ignore)
      }
      return node.done()
    }
  }
}

/**
 * The path elements of the fields a struct node declares (`f:name`), made once per node: the
 * same string every time is a property key V8 finds at once.
 */
function fieldElements(node: SchemaNode): ReadonlyMap<string, PathElement> {
  let elements = elementsByNode.get(node)
  if (!elements) {
    elements = new Map([...fieldsOf(node).keys()].map((k) => [k, `f:${k}`]))
    elementsByNode.set(node, elements)
  }
  return elements
}

const elementsByNode = new WeakMap<SchemaNode, ReadonlyMap<string, PathElement>>()

function addChild(
  node: TreeNode,
  v: unknown,
  f: ResolvedField | undefined,
  e: PathElement,
  path: PathElement[],
  ignore: (p: FieldPath) => boolean,
): void {
  path.push(e)
  const t = treeOf(v, f, path, ignore)
  path.pop()
  if (t) node.add(e, t)
}

function mergedTree(a: Tree, b: Tree): Tree {
  const node = new TreeNode()
  for (const k of Object.keys(a)) node.add(k, a[k] as Tree)
  for (const k of Object.keys(b)) node.add(k, b[k] as Tree)
  return node.done() ?? {}
}

/** What an update changed, in field paths: see diffFieldSets. */
export interface FieldChanges {
  /** Paths `next` sets that `prev` does not, or with another value there (not `.`: see below). */
  readonly changed: FieldSet
  /** Paths `prev` sets that `next` does not. */
  readonly removed: FieldSet
}

/**
 * The difference of two objects' field sets (fieldSetOf with operation Update): the paths the
 * newer sets that the older does not, or where its value differs, and those the older sets that
 * the newer does not. A map or list item itself (`.`) counts as changed only when it comes into
 * being. The two objects are walked side by side, so what an update left alone costs a comparison
 * and no paths: a Lease renewal is one changed path, not the two whole field sets of the Lease.
 */
export function diffFieldSets(
  next: unknown,
  prev: unknown,
  schema: SchemaNode | undefined,
  ignore: (p: FieldPath) => boolean,
): FieldChanges {
  const out = { changed: new FieldSet(), removed: new FieldSet() }
  diffValue(next, prev, schema === undefined ? undefined : rootField(schema), [], out, {
    ignore,
    operation: 'Update',
  })
  return out
}

/** How walkValue treats a value: nothing, one field, a set, an associative list or a struct/map. */
type Shape =
  | { kind: 'absent' | 'leaf' | 'set' }
  | { kind: 'listMap'; keys: readonly string[] }
  | { kind: 'object'; isMap: boolean; node: SchemaNode | undefined }

// The shapes without data are shared: shapeOf runs for every value of every object written.
const absent: Shape = Object.freeze({ kind: 'absent' })
const leaf: Shape = Object.freeze({ kind: 'leaf' })
const set: Shape = Object.freeze({ kind: 'set' })
const freeStruct: Shape = Object.freeze({ kind: 'object', isMap: false, node: undefined })
const structShapes = new WeakMap<SchemaNode, Shape>()

function shapeOf(v: unknown, f: ResolvedField | undefined, path: FieldPath): Shape {
  if (v === null || v === undefined) return absent
  if (Array.isArray(v)) {
    const lk = listKind(f)
    return lk.kind === 'atomic' ? leaf : lk.kind === 'set' ? set : { kind: 'listMap', keys: lk.keys }
  }
  if (typeof v !== 'object') return path.length > 0 ? leaf : absent
  const node = f ? resolve(f.node) : undefined
  const atomic =
    f?.mapType === 'atomic' ||
    (node?.embeddedResource ?? false) ||
    (node !== undefined &&
      node.properties === undefined &&
      node.additionalProperties === undefined &&
      node.type === 'object')
  if (atomic) return path.length > 0 ? leaf : absent
  if (path.length > 0 && hasNoMembers(v)) return leaf
  if (node === undefined) return freeStruct
  let shape = structShapes.get(node)
  if (!shape) {
    const isMap = node.properties === undefined && node.additionalProperties !== undefined
    structShapes.set(node, (shape = Object.freeze({ kind: 'object', isMap, node })))
  }
  return shape
}

function diffValue(
  next: unknown,
  prev: unknown,
  f: ResolvedField | undefined,
  path: PathElement[],
  out: FieldChanges,
  o: FieldSetOptions,
): void {
  if (path.length > 0 && o.ignore(path)) return
  const sn = shapeOf(next, f, path)
  const sp = shapeOf(prev, f, path)
  if (sp.kind === 'absent') {
    if (sn.kind !== 'absent') walkValue(next, f, path, out.changed, o)
    return
  }
  if (sn.kind === 'absent') {
    walkValue(prev, f, path, out.removed, o)
    return
  }
  if (sn.kind !== sp.kind) {
    diffWhole(next, prev, f, path, out, o)
    return
  }
  // Near the top, a whole part that did not change (the spec of a status update, a node's images)
  // is cheaper to compare than to walk.
  if (sn.kind !== 'leaf' && path.length <= 2 && deepEqual(next, prev)) return
  switch (sn.kind) {
    case 'leaf':
      if (!sameValue(next, prev)) out.changed.add(path)
      return
    case 'set': {
      const had = new Set((prev as unknown[]).map((x) => `v:${JSON.stringify(x)}`))
      const has = new Set((next as unknown[]).map((x) => `v:${JSON.stringify(x)}`))
      for (const e of has) if (!had.has(e)) out.changed.add([...path, e])
      for (const e of had) if (!has.has(e)) out.removed.add([...path, e])
      return
    }
    case 'listMap': {
      const item = f ? items(f.node) : undefined
      const nextItems = itemsByKey(next as unknown[], sn.keys, item)
      const prevItems = itemsByKey(prev as unknown[], sn.keys, item)
      // Items sharing a key share their paths: the whole lists then, as fieldSetOf sees them.
      if (!nextItems || !prevItems) {
        diffWhole(next, prev, f, path, out, o)
        return
      }
      for (const [e, x] of nextItems) {
        const before = prevItems.get(e)
        if (!before) {
          walkItem(x, item, [...path, e], out.changed, o)
          continue
        }
        for (const k of keysOfEither(x, before))
          diffValue(x[k], before[k], item ? field(item.node, k) : undefined, [...path, e, `f:${k}`], out, o)
      }
      for (const [e, x] of prevItems) if (!nextItems.has(e)) walkItem(x, item, [...path, e], out.removed, o)
      return
    }
    case 'object': {
      const n = next as Record<string, unknown>
      const p = prev as Record<string, unknown>
      for (const k of keysOfEither(n, p)) {
        const child = sn.node ? (sn.isMap ? mapValues(f?.node ?? {}) : field(f?.node ?? {}, k)) : undefined
        diffValue(n[k], p[k], child, [...path, `f:${k}`], out, o)
      }
      return
    }
  }
}

/** An associative list's object items by their `k:` element; undefined when two share one. */
function itemsByKey(
  list: readonly unknown[],
  keys: readonly string[],
  item: ResolvedField | undefined,
): Map<PathElement, Record<string, unknown>> | undefined {
  const m = new Map<PathElement, Record<string, unknown>>()
  for (const x of list) {
    if (x === null || typeof x !== 'object' || Array.isArray(x)) continue
    const e = keyElement(x as Record<string, unknown>, keys, item)
    if (m.has(e)) return undefined
    m.set(e, x as Record<string, unknown>)
  }
  return m
}

/** An associative list item's paths, as walkValue adds them. */
function walkItem(
  x: Record<string, unknown>,
  item: ResolvedField | undefined,
  path: PathElement[],
  out: FieldSet,
  o: FieldSetOptions,
): void {
  out.add([...path, '.'])
  for (const [k, v] of Object.entries(x))
    walkValue(v, item ? field(item.node, k) : undefined, [...path, `f:${k}`], out, o)
}

function keysOfEither(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = Object.keys(a)
  for (const k of Object.keys(b)) if (!Object.hasOwn(a, k)) keys.push(k)
  return keys
}

/** Both values' whole field sets compared, where their shapes differ. */
function diffWhole(
  next: unknown,
  prev: unknown,
  f: ResolvedField | undefined,
  path: PathElement[],
  out: FieldChanges,
  o: FieldSetOptions,
): void {
  const nextValues = new Map<string, unknown>()
  const prevValues = new Map<string, unknown>()
  const nextSet = new FieldSet()
  const prevSet = new FieldSet()
  walkValue(next, f, path, nextSet, { ...o, values: nextValues })
  walkValue(prev, f, path, prevSet, { ...o, values: prevValues })
  for (const p of nextSet.paths()) {
    if (!prevSet.has(p)) out.changed.add(p)
    else if (p.at(-1) !== '.' && !sameValue(nextValues.get(pathKey(p)), prevValues.get(pathKey(p))))
      out.changed.add(p)
  }
  for (const p of prevSet.paths()) if (!nextSet.has(p)) out.removed.add(p)
}

/** Equal as JSON, whatever the order of object keys. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true
  // Scalars that differ differ in JSON too (JSON has no NaN).
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false
  return canonical(a) === canonical(b)
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(v) ?? 'undefined'
}

/**
 * Whether a FieldsV1 tree holds the path, as FieldSet.fromFieldsV1 would read it: its last
 * element is `.` or a leaf.
 */
export function fieldsV1Has(tree: unknown, p: FieldPath): boolean {
  let node = tree
  for (const e of p) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, e)) return false
    node = (node as Record<string, unknown>)[e]
    if (e === '.') return true
  }
  return p.length > 0 && (node === null || typeof node !== 'object' || Object.keys(node).length === 0)
}

/**
 * A FieldsV1 tree with the `remove` paths taken out (and the maps they leave empty) and the `add`
 * paths put in, keys in order: what FieldSet.fromFieldsV1(tree).minus(remove).union(add)
 * .toFieldsV1() gives, made by editing the tree instead of a set of every path in it. The input is
 * left as it is: a tree in order already (as every tree this server writes is) shares what the
 * edits leave alone and copies only the maps on their paths; any other is copied whole, in order.
 */
export function editFieldsV1(
  tree: unknown,
  remove: readonly FieldPath[],
  add: readonly FieldPath[],
): Record<string, unknown> {
  if (!inOrder(tree)) return edit(copyTree(tree), remove, add, undefined)
  const root = { ...(tree as Record<string, unknown>) }
  return edit(root, remove, add, new Set([root]))
}

/**
 * Edits `root` in place. `owned`: the maps of it that are the edit's own (undefined: all are);
 * any other is copied into its parent before it changes.
 */
function edit(
  root: Record<string, unknown>,
  remove: readonly FieldPath[],
  add: readonly FieldPath[],
  owned: Set<Record<string, unknown>> | undefined,
): Record<string, unknown> {
  type Node = Record<string, unknown>
  const child = (parent: Node, e: string): Node => {
    const c = parent[e] as Node
    if (owned === undefined || owned.has(c)) return c
    const copy = { ...c }
    parent[e] = copy
    owned.add(copy)
    return copy
  }
  for (const p of remove) {
    if (!fieldsV1Has(root, p)) continue
    // The maps down to the path's leaf; then the leaf goes, and each map it leaves empty.
    const chain: Node[] = [root]
    for (let i = 0; i < p.length - 1; i++) chain.push(child(chain[i] as Node, p[i] as string))
    for (let i = p.length - 1; i >= 0; i--) {
      const node = chain[i] as Node
      delete node[p[i] as string]
      if (!isEmpty(node) || i === 0) break
    }
  }
  const unsorted = new Set<Node>()
  for (const p of add) {
    let node = root
    for (let i = 0; i < p.length; i++) {
      const e = p[i] as string
      if (node[e] === undefined) {
        const leaf: Node = {}
        node[e] = leaf
        owned?.add(leaf)
        unsorted.add(node)
        node = leaf
      } else if (i < p.length - 1) node = child(node, e)
    }
  }
  for (const node of unsorted) sortKeys(node)
  return root
}

function isEmpty(node: Record<string, unknown>): boolean {
  for (const _ in node) return false
  return true
}

/** Whether every map of the tree has its keys in order (and everything in it is a map). */
function inOrder(node: unknown): boolean {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return false
  let last: string | undefined
  for (const k in node) {
    if (last !== undefined && last > k) return false
    last = k
    if (!inOrder((node as Record<string, unknown>)[k])) return false
  }
  return true
}

/** A deep copy of a FieldsV1 tree, keys in order; anything but a map is an empty leaf. */
function copyTree(node: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return out
  const keys = Object.keys(node)
  for (let i = 1; i < keys.length; i++) {
    if ((keys[i - 1] as string) > (keys[i] as string)) {
      keys.sort()
      break
    }
  }
  for (const k of keys) out[k] = copyTree((node as Record<string, unknown>)[k])
  return out
}

/** Puts the node's keys in order, in place. */
function sortKeys(node: Record<string, unknown>): void {
  for (const k of Object.keys(node).sort()) {
    const v = node[k]
    delete node[k]
    node[k] = v
  }
}

function addValue(out: FieldSet, path: FieldPath, v: unknown, o: FieldSetOptions): void {
  out.add(path)
  if (o.values === undefined) return
  const key = pathKey(path)
  // The first of duplicate list keys, as valueAt finds it.
  if (!o.values.has(key)) o.values.set(key, v)
}

/**
 * The value at a path of an object (undefined when the object does not have it). With the schema
 * of the object's kind, list items are found by their keys as `keyElement` makes them (defaults
 * included); without, by the key fields they hold.
 */
export function valueAt(v: unknown, path: FieldPath, schema?: SchemaNode): unknown {
  let cur: unknown = v
  let f: ResolvedField | undefined = schema === undefined ? undefined : rootField(schema)
  for (const e of path) {
    if (e === '.') continue
    if (cur === null || cur === undefined) return undefined
    if (e.startsWith('f:')) {
      const name = e.slice(2)
      cur = isPlainObject(cur) && Object.hasOwn(cur, name) ? cur[name] : undefined
      f = f ? field(f.node, name) : undefined
    } else if (e.startsWith('k:')) {
      if (!Array.isArray(cur)) return undefined
      const lk = listKind(f)
      const item = f ? items(f.node) : undefined
      if (lk.kind === 'map') {
        cur = cur.find((x) => isPlainObject(x) && keyElement(x, lk.keys, item) === e)
      } else {
        const key = JSON.parse(e.slice(2)) as Record<string, unknown>
        cur = cur.find(
          (x) =>
            isPlainObject(x) &&
            Object.entries(key).every(([k, kv]) => JSON.stringify(x[k]) === JSON.stringify(kv)),
        )
      }
      f = item
    } else if (e.startsWith('v:')) {
      if (!Array.isArray(cur)) return undefined
      const want = e.slice(2)
      cur = cur.find((x) => JSON.stringify(x) === want)
      f = f ? items(f.node) : undefined
    } else return undefined
  }
  return cur
}

/**
 * The order structured-merge-diff lists a set of paths in (conflicts are reported in it): at
 * each level the fields that end there first, then the deeper ones, each group by name.
 */
export function comparePaths(a: FieldPath, b: FieldPath): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const aEnds = a.length === i + 1
    const bEnds = b.length === i + 1
    if (aEnds !== bEnds) return aEnds ? -1 : 1
    const ea = a[i] ?? ''
    const eb = b[i] ?? ''
    if (ea !== eb) return ea < eb ? -1 : 1
  }
  return a.length - b.length
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** A path as Kubernetes prints it in conflicts: `.spec.containers[name="web"].image`. */
export function pathString(p: FieldPath): string {
  let s = ''
  for (const e of p) {
    if (e === '.') continue
    if (e.startsWith('f:')) s += `.${e.slice(2)}`
    else if (e.startsWith('k:')) {
      const key = JSON.parse(e.slice(2)) as Record<string, unknown>
      s += `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`
    } else if (e.startsWith('v:')) s += `[=${e.slice(2)}]`
  }
  return s
}

/** Fields the server owns, never part of anyone's managed set. */
export function serverOwned(p: FieldPath): boolean {
  if (p[0] === 'f:apiVersion' || p[0] === 'f:kind') return true
  if (p[0] !== 'f:metadata') return false
  const m = p[1]
  return (
    m === 'f:name' ||
    m === 'f:namespace' ||
    m === 'f:uid' ||
    m === 'f:resourceVersion' ||
    m === 'f:generation' ||
    m === 'f:creationTimestamp' ||
    m === 'f:deletionTimestamp' ||
    m === 'f:deletionGracePeriodSeconds' ||
    m === 'f:managedFields' ||
    m === 'f:selfLink' ||
    m === 'f:generateName'
  )
}

/** Managed fields entries of an object, keyed by manager, operation and subresource. */
export function entriesOf(obj: Readonly<StoredObject>): ManagedFieldsEntry[] {
  return [...(obj.metadata.managedFields ?? [])]
}

export function entryKey(e: ManagedFieldsEntry): string {
  return `${e.manager ?? ''}\u0000${e.operation ?? ''}\u0000${e.subresource ?? ''}`
}
