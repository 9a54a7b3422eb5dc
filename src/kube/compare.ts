// Would applying change anything? Compares the server's dry-run result with the live object.
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../manifests/object.ts';

/** Fields that differ between a dry-run answer and a stored object without meaning a change. */
function normalize(o: KubeObject): unknown {
  const { resourceVersion: _rv, managedFields, ...meta } = o.metadata;
  const fields = Array.isArray(managedFields)
    ? managedFields.map((f: Record<string, unknown>) => {
        const { time: _t, ...rest } = f;
        return rest;
      })
    : managedFields;
  return { ...o, metadata: { ...meta, managedFields: fields } };
}

export function sameObject(dryRun: KubeObject, live: KubeObject | undefined): boolean {
  return live !== undefined && isDeepStrictEqual(normalize(dryRun), normalize(live));
}

/**
 * Every field of `desired` has the same value in `live` (the server may have added defaults and
 * other managers' fields). Values the server normalises (a quantity written as 0.5 for 500m) just
 * do not match, which costs a dry-run, never a missed change.
 */
export function contains(live: unknown, desired: unknown): boolean {
  if (desired === null || typeof desired !== 'object') return live === desired;
  if (Array.isArray(desired)) {
    return (
      Array.isArray(live) && live.length === desired.length && desired.every((d, i) => contains(live[i], d))
    );
  }
  if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
  const l = live as Record<string, unknown>;
  return Object.entries(desired).every(([k, v]) => contains(l[k], v));
}
