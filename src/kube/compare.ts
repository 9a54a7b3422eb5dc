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
