// Deletes what we applied earlier and git no longer has — only objects we own, never one kept
// by annotation, never objects outside the inventory.
import { failpoint } from '../failpoint.ts';
import type { ObjectRef } from '../manifests/object.ts';
import { ifFound, isNotFound, type KubeClient } from './client.ts';
import { managedByLabel, managedByValue, pruneAnnotation } from './labels.ts';
import type { RestMapper } from './mapping.ts';

export interface PruneResult {
  deleted: ObjectRef[];
  /** Kept by `git-sync-operator.mozilla.org/prune: disabled`. */
  kept: ObjectRef[];
  /** In the inventory but no longer ours (label removed) or already gone. */
  skipped: ObjectRef[];
}

interface Meta {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
}

export async function prune(
  { client, mapper }: { client: KubeClient; mapper: RestMapper },
  namespace: string,
  stale: readonly ObjectRef[],
  dryRun = false,
): Promise<PruneResult> {
  const result: PruneResult = { deleted: [], kept: [], skipped: [] };
  for (const ref of stale) {
    const path = await pathOf(mapper, ref, namespace);
    const live = path === undefined ? undefined : await ifFound(client.json<Meta>('GET', path));
    if (path === undefined || !live || live.metadata.labels?.[managedByLabel] !== managedByValue) {
      result.skipped.push(ref);
    } else if (live.metadata.annotations?.[pruneAnnotation] === 'disabled') {
      result.kept.push(ref);
    } else {
      if (!dryRun) await ifFound(client.json('DELETE', path, { body: { propagationPolicy: 'Background' } }));
      result.deleted.push(ref);
      failpoint('mid-prune', namespace); // a test knob: killed after the first delete
    }
  }
  return result;
}

/** The object's API path, or undefined when its kind is gone (CRD removed): nothing left to delete. */
async function pathOf(mapper: RestMapper, ref: ObjectRef, namespace: string): Promise<string | undefined> {
  try {
    return await mapper.path(ref.apiVersion, ref.kind, namespace, ref.name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
