// Field-level differences between the live object and what applying would make of it (`diff`).
// Pure. Managed fields, status, server bookkeeping and the operator's applied-hash are left out of
// both sides; a Secret's values are compared here and never leave: they print as (hidden).
import type { KubeObject, ObjectRef } from '../manifests/object.ts';
import { hashAnnotation } from './labels.ts';

/** A Secret's value: equal by value, printed and serialised as `(hidden)`; the value is unreachable. */
export class Hidden {
  readonly #value: unknown;
  constructor(value: unknown) {
    this.#value = value;
  }
  equals(other: Hidden): boolean {
    return this.#value === other.#value;
  }
  toJSON(): string {
    return '(hidden)';
  }
  toString(): string {
    return '(hidden)';
  }
}

/** One field that differs; `undefined` on a side: the field is absent there (JSON holds no undefined). */
export interface FieldChange {
  path: string;
  from: unknown;
  to: unknown;
}

/** What applying one namespace's set would do, object by object. */
export type ObjectDiff =
  | { op: 'change'; ref: ObjectRef; where?: string | undefined; fields: FieldChange[] }
  | { op: 'create'; ref: ObjectRef; where?: string | undefined }
  /** An immutable field changes and the object may be recreated (a Job, or by annotation). */
  | { op: 'replace'; ref: ObjectRef; where?: string | undefined }
  | { op: 'prune'; ref: ObjectRef };

/** Server bookkeeping: differs between any two reads without meaning a change. */
const bookkeeping = new Set(['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp']);
const lastApplied = 'kubectl.kubernetes.io/last-applied-configuration';

/** The object as compared: bookkeeping, status and the applied-hash dropped, Secret values hidden. */
export function comparable(o: KubeObject): Record<string, unknown> {
  const { apiVersion, kind, metadata, status: _status, ...rest } = o;
  const meta: Record<string, unknown> = Object.fromEntries(
    Object.entries(metadata).filter(([k]) => !bookkeeping.has(k)),
  );
  const secret = kind === 'Secret';
  const annotations = Object.entries(metadata.annotations ?? {})
    .filter(([k]) => k !== hashAnnotation)
    // kubectl's client-side apply copy of a Secret holds its values.
    .map(([k, v]) => [k, secret && k === lastApplied ? new Hidden(v) : v] as const);
  if (annotations.length > 0) meta.annotations = Object.fromEntries(annotations);
  else delete meta.annotations;
  const out: Record<string, unknown> = { apiVersion, kind, metadata: meta, ...rest };
  if (secret)
    for (const field of ['data', 'stringData']) if (field in out) out[field] = hideValues(out[field]);
  return out;
}

function hideValues(m: unknown): unknown {
  if (!isRecord(m)) return m === undefined ? m : new Hidden(m);
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, new Hidden(v)]));
}

/** Every field that differs between `live` and `next` (both compared as comparable() makes them). */
export function fieldChanges(live: KubeObject, next: KubeObject): FieldChange[] {
  const out: FieldChange[] = [];
  walk(comparable(live), comparable(next), '', out);
  return out;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Hidden);

/** Maps by key (live's keys in order, then new ones), lists by index, anything else as a value. */
function walk(a: unknown, b: unknown, path: string, out: FieldChange[]): void {
  if (isRecord(a) && isRecord(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[k], b[k], child(path, k), out);
  } else if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) walk(a[i], b[i], `${path}[${i}]`, out);
  } else if (!leafEqual(a, b)) {
    out.push({ path, from: a, to: b });
  }
}

function leafEqual(a: unknown, b: unknown): boolean {
  if (a instanceof Hidden || b instanceof Hidden)
    return a instanceof Hidden && b instanceof Hidden && a.equals(b);
  return a === b;
}

/** `spec.replicas`, `containers[0]`, `labels["app.kubernetes.io/name"]`. */
function child(path: string, key: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path ? `${path}.${key}` : key;
}

/** A value on one line: JSON, `(none)` when absent, `(hidden)` for a Secret's value. */
function show(v: unknown): string {
  if (v === undefined) return '(none)';
  if (v instanceof Hidden) return '(hidden)';
  return JSON.stringify(v);
}

/** `spec.replicas: 2 → 3`; a Secret value that changed: `data.password: changed (hidden)`. */
export function formatChange(c: FieldChange): string {
  if (c.from instanceof Hidden && c.to instanceof Hidden) return `${c.path}: changed (hidden)`;
  return `${c.path}: ${show(c.from)} → ${show(c.to)}`;
}

/** One namespace's differences as the diff prints them (see README "Diff"). */
export function formatDiffs(diffs: readonly ObjectDiff[]): string[] {
  const at = (where: string | undefined) => (where ? ` (${where})` : '');
  return diffs.flatMap((d) => {
    const name = `${d.ref.kind}/${d.ref.name}`;
    if (d.op === 'prune') return [`- ${name} (would be pruned)`];
    if (d.op === 'create') return [`+ ${name}${at(d.where)}`];
    if (d.op === 'replace')
      return [`± ${name}${at(d.where)} would be deleted and created again (immutable fields change)`];
    return [`~ ${name}${at(d.where)}`, ...d.fields.map((f) => `    ${formatChange(f)}`)];
  });
}

/**
 * `web @ 1a2b3c4: 1 changed, 1 new, 1 to prune, 5 unchanged` (`, 1 to replace` after new when
 * there is one), or `web @ 1a2b3c4: no differences (7 objects)`.
 */
export function summary(label: string, diffs: readonly ObjectDiff[], unchanged: number): string {
  if (diffs.length === 0) return `${label}: no differences (${unchanged} objects)`;
  const count = (op: ObjectDiff['op']) => diffs.filter((d) => d.op === op).length;
  const replace = count('replace') > 0 ? `, ${count('replace')} to replace` : '';
  return `${label}: ${count('change')} changed, ${count('create')} new${replace}, ${count('prune')} to prune, ${unchanged} unchanged`;
}
