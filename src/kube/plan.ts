// Which objects of a set would change the cluster: whole-set server-side dry-run, compared with
// the live objects. Nothing is written here; a rejected dry-run fails the set before any write.
import type { KubeObject } from '../manifests/object.ts';
import { refKey, refOf } from '../manifests/object.ts';
import { ApiError, type KubeClient } from './client.ts';
import { contains, sameObject } from './compare.ts';
import { hashAnnotation, selector } from './labels.ts';
import type { RestMapper } from './mapping.ts';
import { settleLimit } from './pool.ts';
import { serverSideApply } from './ssa.ts';

export interface Plan {
  changed: KubeObject[];
  unchanged: KubeObject[];
  /** Live managed objects by refKey, for the kinds in the set. */
  live: Map<string, KubeObject>;
  /** Time the LISTs took (ms). */
  listMs: number;
}

export class ApplySetError extends Error {
  constructor(readonly failures: { object: string; message: string; status: number }[]) {
    super(failures.map((f) => `${f.object}: ${f.message}`).join('; '));
    this.name = 'ApplySetError';
  }
}

export interface PlanContext {
  client: KubeClient;
  mapper: RestMapper;
  namespace: string;
  concurrency: number;
  force: boolean;
}

export async function plan(ctx: PlanContext, objects: readonly KubeObject[]): Promise<Plan> {
  const started = performance.now();
  const live = await listLive(ctx, objects);
  const listMs = Math.round(performance.now() - started);
  const { results, errors } = await settleLimit(objects, ctx.concurrency, async (o) => {
    const key = refKey(refOf(o));
    const current = live.get(key);
    // Applied as is before, and nobody changed a field of it since: a dry-run would say the same.
    const hash = o.metadata.annotations?.[hashAnnotation];
    if (current && hash && current.metadata.annotations?.[hashAnnotation] === hash && contains(current, o))
      return false;
    const dry = await serverSideApply(ctx.client, ctx.mapper, o, { dryRun: true, force: ctx.force });
    return !sameObject(dry, current);
  });
  if (errors.length > 0) throw setError(errors);
  const changed = objects.filter((_, i) => results[i]);
  const unchanged = objects.filter((_, i) => !results[i]);
  return { changed, unchanged, live, listMs };
}

/** One LIST per kind of the set (managed objects only), instead of one GET per object. */
async function listLive(ctx: PlanContext, objects: readonly KubeObject[]): Promise<Map<string, KubeObject>> {
  const kinds = new Map<string, { apiVersion: string; kind: string }>();
  for (const o of objects) kinds.set(`${o.apiVersion}/${o.kind}`, { apiVersion: o.apiVersion, kind: o.kind });
  const live = new Map<string, KubeObject>();
  const { errors } = await settleLimit([...kinds.values()], ctx.concurrency, async ({ apiVersion, kind }) => {
    const path = await ctx.mapper.path(apiVersion, kind, ctx.namespace);
    const list = await ctx.client.json<{ items: KubeObject[] }>(
      'GET',
      `${path}?labelSelector=${encodeURIComponent(selector)}`,
    );
    for (const item of list.items)
      live.set(refKey({ apiVersion, kind, name: item.metadata.name }), { ...item, apiVersion, kind });
  });
  if (errors.length > 0) {
    throw setError(
      errors.map((e) => ({
        item: { apiVersion: e.item.apiVersion, kind: e.item.kind, metadata: { name: '*' } },
        error: e.error,
      })),
    );
  }
  return live;
}

export function setError(
  errors: { item: { kind: string; metadata: { name: string } }; error: unknown }[],
): ApplySetError {
  return new ApplySetError(
    errors.map(({ item, error }) => ({
      object: `${item.kind}/${item.metadata.name}`,
      message: error instanceof Error ? error.message : String(error),
      status: error instanceof ApiError ? error.status : 0,
    })),
  );
}
