// Deletes what we applied earlier and git no longer has — only objects we own, never one kept
// by annotation, never objects outside the inventory. One LIST per kind (by our label) tells which
// are still ours, then the DELETEs go out concurrently, each on the condition that the object is
// as listed (a resourceVersion precondition): one changed since — a label removed by hand — is
// left alone.
import { failpoint } from '../failpoint.ts';
import { type ObjectRef, refKey } from '../manifests/object.ts';
import { ApiError, ifFound, isNotFound, type KubeClient, metadataOnly } from './client.ts';
import { pruneAnnotation, selector } from './labels.ts';
import type { RestMapper } from './mapping.ts';
import { settleLimit } from './pool.ts';

export interface PruneResult {
  deleted: ObjectRef[];
  /** Kept by `git-sync-operator.mozilla.org/prune: disabled`. */
  kept: ObjectRef[];
  /** In the inventory but no longer ours (label removed, changed since the LIST) or already gone. */
  skipped: ObjectRef[];
}

interface Live {
  metadata: { name: string; resourceVersion?: string; annotations?: Record<string, string> };
}

export interface PruneContext {
  client: KubeClient;
  mapper: RestMapper;
  /** DELETEs in flight at once. */
  concurrency: number;
}

export async function prune(
  ctx: PruneContext,
  namespace: string,
  stale: readonly ObjectRef[],
  dryRun = false,
): Promise<PruneResult> {
  const live = await listOurs(ctx, namespace, stale);
  const result: PruneResult = { deleted: [], kept: [], skipped: [] };
  const doomed: { ref: ObjectRef; path: string; rv: string | undefined }[] = [];
  for (const ref of stale) {
    const l = live.get(refKey(ref));
    if (!l) result.skipped.push(ref);
    else if (l.obj.metadata.annotations?.[pruneAnnotation] === 'disabled') result.kept.push(ref);
    else doomed.push({ ref, path: l.path, rv: l.obj.metadata.resourceVersion });
  }
  if (dryRun) return { ...result, deleted: doomed.map((d) => d.ref) };
  const { results, errors } = await settleLimit(doomed, ctx.concurrency, async ({ path, rv }) => {
    const body = {
      propagationPolicy: 'Background',
      ...(rv ? { preconditions: { resourceVersion: rv } } : {}),
    };
    const gone = await ifFound(ctx.client.json('DELETE', path, { body })).catch((err: unknown) => {
      if (err instanceof ApiError && err.status === 409) return 'changed' as const; // not as listed
      throw err;
    });
    failpoint('mid-prune', namespace); // a test knob: killed after the first delete
    return gone === 'changed' ? 'changed' : 'deleted';
  });
  if (errors.length > 0) throw errors[0]?.error;
  doomed.forEach((d, i) => {
    (results[i] === 'deleted' ? result.deleted : result.skipped).push(d.ref);
  });
  return result;
}

/** Our live objects of the kinds in `refs` (one LIST per kind), by refKey, with their paths. */
async function listOurs(
  ctx: PruneContext,
  namespace: string,
  refs: readonly ObjectRef[],
): Promise<Map<string, { obj: Live; path: string }>> {
  const kinds = new Map(refs.map((r) => [`${r.apiVersion}/${r.kind}`, r]));
  const out = new Map<string, { obj: Live; path: string }>();
  const { errors } = await settleLimit([...kinds.values()], ctx.concurrency, async ({ apiVersion, kind }) => {
    const path = await collectionOf(ctx.mapper, apiVersion, kind, namespace);
    if (path === undefined) return; // the kind is gone (CRD removed): nothing left to delete
    // Metadata only: name, annotations and resourceVersion are all prune reads (a LIST of a
    // thousand Deployments in full is megabytes).
    const list = await ctx.client.json<{ items: Live[] }>(
      'GET',
      `${path}?labelSelector=${encodeURIComponent(selector)}`,
      { accept: metadataOnly.list },
    );
    for (const obj of list.items)
      out.set(refKey({ apiVersion, kind, name: obj.metadata.name }), {
        obj,
        path: `${path}/${obj.metadata.name}`,
      });
  });
  if (errors.length > 0) throw errors[0]?.error;
  return out;
}

/** The kind's collection path in the namespace, or undefined when its kind is gone. */
async function collectionOf(
  mapper: RestMapper,
  apiVersion: string,
  kind: string,
  namespace: string,
): Promise<string | undefined> {
  try {
    return await mapper.path(apiVersion, kind, namespace);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
