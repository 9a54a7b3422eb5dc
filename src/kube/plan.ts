// Which objects of a set would change the cluster: whole-set server-side dry-run, compared with
// the live objects. Nothing is written here; a rejected dry-run fails the set before any write.
import type { KubeObject } from '../manifests/object.ts';
import { refKey, refOf } from '../manifests/object.ts';
import type { KubeClient } from './client.ts';
import { contains, sameObject } from './compare.ts';
import { hashAnnotation, selector } from './labels.ts';
import type { RestMapper } from './mapping.ts';
import { settleLimit } from './pool.ts';
import { immutableError, immutableFields, recreatable, validateCreate } from './recreate.ts';
import { setError } from './set-error.ts';
import { serverSideApply } from './ssa.ts';

export interface Plan {
  changed: KubeObject[];
  /** Changed objects the apiserver cannot update in place: deleted, then created (refKeys). */
  recreate: Set<string>;
  /** Jobs that completed at this spec and are gone since (TTL): not created again (refKeys). */
  ranAndGone: Set<string>;
  unchanged: KubeObject[];
  /** Live managed objects by refKey, for the kinds in the set. */
  live: Map<string, KubeObject>;
  /** Time the LISTs took (ms). */
  listMs: number;
}

export interface PlanContext {
  client: KubeClient;
  mapper: RestMapper;
  namespace: string;
  concurrency: number;
  force: boolean;
}

/**
 * `ran`: Jobs that completed before, as `name@applied-hash`; one of them missing now was deleted
 * after it ran (its TTL), and creating it would run it twice.
 */
export async function plan(
  ctx: PlanContext,
  objects: readonly KubeObject[],
  ran: ReadonlySet<string> = new Set(),
): Promise<Plan> {
  const started = performance.now();
  const live = await listLive(ctx, objects);
  const listMs = Math.round(performance.now() - started);
  const recreate = new Set<string>();
  const ranAndGone = new Set<string>();
  const { results, errors } = await settleLimit(objects, ctx.concurrency, async (o) => {
    const key = refKey(refOf(o));
    const current = live.get(key);
    const hash = o.metadata.annotations?.[hashAnnotation];
    if (!current && o.kind === 'Job' && ran.has(`${o.metadata.name}@${hash}`)) {
      ranAndGone.add(key);
      return false;
    }
    // Applied as is before, and nobody changed a field of it since: a dry-run would say the same.
    if (current && hash && current.metadata.annotations?.[hashAnnotation] === hash && contains(current, o))
      return false;
    const dry = await dryRunOrRecreate(ctx, o, current);
    if (dry === 'recreate') recreate.add(key);
    return dry === 'recreate' || !sameObject(dry, current);
  });
  if (errors.length > 0) throw setError(errors);
  const changed = objects.filter((_, i) => results[i]);
  const unchanged = objects.filter((_, i) => !results[i]);
  return { changed, recreate, ranAndGone, unchanged, live, listMs };
}

/**
 * The dry-run of applying `o`; 'recreate' when the live object cannot take the change in place
 * and may be recreated (a Job, or the recreate annotation) — valid as a create. An immutable
 * change without the opt-in fails the set with an error that says how to opt in.
 */
async function dryRunOrRecreate(
  ctx: PlanContext,
  o: KubeObject,
  current: KubeObject | undefined,
): Promise<KubeObject | 'recreate'> {
  try {
    return await serverSideApply(ctx.client, ctx.mapper, o, { dryRun: true, force: ctx.force });
  } catch (err) {
    const fields = current ? immutableFields(err) : undefined;
    if (!fields) throw err;
    if (!recreatable(o)) throw immutableError(o, fields);
    await validateCreate(ctx, o);
    return 'recreate';
  }
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
