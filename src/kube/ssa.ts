// Server-side apply of one object, for real or as a dry-run.
import { createHash } from 'node:crypto';
import type { KubeObject } from '../manifests/object.ts';
import { ApiError, type KubeClient } from './client.ts';
import { fieldManager, hashAnnotation, managedByLabel, managedByValue } from './labels.ts';
import type { RestMapper } from './mapping.ts';

export interface ApplyOptions {
  dryRun: boolean;
  /** FORCE_CONFLICTS: take fields over from other appliers too. */
  force: boolean;
}

/** The object as we send it: namespace set, ownership label and the hash of itself added. */
export function desired(o: KubeObject, namespace: string): KubeObject {
  const labels = { ...o.metadata.labels, [managedByLabel]: managedByValue };
  const obj = { ...o, metadata: { ...o.metadata, namespace, labels } };
  const hash = createHash('sha256')
    .update(JSON.stringify(hashable(obj)))
    .digest('base64url')
    .slice(0, 22);
  const annotations = { ...o.metadata.annotations, [hashAnnotation]: hash };
  return { ...obj, metadata: { ...obj.metadata, annotations } };
}

/**
 * A Secret's values stay out of the hash (anyone who reads annotations could test guesses against
 * it); its key names stay in, so a removed key still changes the hash. Changed values are caught
 * by the value comparison in plan.
 */
function hashable(o: KubeObject): KubeObject {
  if (o.kind !== 'Secret') return o;
  const blank = (m: unknown) =>
    m && typeof m === 'object' ? Object.fromEntries(Object.keys(m).map((k) => [k, ''])) : m;
  return { ...o, data: blank(o.data), stringData: blank(o.stringData) };
}

const query = (force: boolean, dryRun: boolean) =>
  `fieldManager=${fieldManager}&force=${force}${dryRun ? '&dryRun=All' : ''}`;

interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
}

/**
 * Applies `obj`. A conflict with imperative edits only (kubectl edit/scale: operation Update) is
 * drift and is taken back; a conflict with another applier is reported unless `force`.
 */
export async function serverSideApply(
  client: KubeClient,
  mapper: RestMapper,
  obj: KubeObject,
  opts: ApplyOptions,
): Promise<KubeObject> {
  const path = await mapper.path(obj.apiVersion, obj.kind, obj.metadata.namespace ?? '', obj.metadata.name);
  const send = (force: boolean) =>
    client.json<KubeObject>('PATCH', `${path}?${query(force, opts.dryRun)}`, {
      body: obj,
      contentType: 'application/apply-patch+yaml',
    });
  try {
    return await send(opts.force);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 409 && err.reason === 'Conflict')) throw err;
    const owners = [...err.message.matchAll(/conflict with "([^"]+)"/g)].map((m) => m[1]);
    const live = await client.json<KubeObject>('GET', path);
    const entries = (live.metadata.managedFields ?? []) as ManagedFieldsEntry[];
    const appliers = entries
      .filter((e) => owners.includes(e.manager) && e.operation === 'Apply')
      .map((e) => e.manager);
    if (owners.length === 0 || appliers.length > 0) {
      throw new ApiError(
        409,
        'Conflict',
        `${obj.kind}/${obj.metadata.name}: fields are owned by another applier (${[...new Set(appliers)].join(', ') || 'unknown'}); ` +
          `remove them from one of the two sources, or set FORCE_CONFLICTS=true to take them over (${err.message})`,
      );
    }
    return send(true);
  }
}
