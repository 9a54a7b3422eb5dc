// Stage 4: delete what this operator applied before and git no longer has (never an object it
// does not own, never one kept by annotation). A dry run only lists what would go.
import { prune } from '../kube/prune.ts';
import type { ObjectRef } from '../manifests/object.ts';
import type { SyncContext } from './context.ts';

/** What a dry run would prune. */
export async function pruneWouldDelete(ctx: SyncContext, stale: readonly ObjectRef[]): Promise<ObjectRef[]> {
  return (await prune(pruneContext(ctx), ctx.ns, stale, true)).deleted;
}

/** Prunes the stale objects; returns those deleted. Throws when a delete fails. */
export async function pruneStale(ctx: SyncContext, stale: readonly ObjectRef[]): Promise<ObjectRef[]> {
  if (stale.length === 0) return [];
  const pr = await prune(pruneContext(ctx), ctx.ns, stale);
  const names = (list: readonly ObjectRef[]) => list.map((r) => `${r.kind}/${r.name}`);
  if (pr.deleted.length) ctx.log.info({ pruned: names(pr.deleted) }, 'pruned');
  if (pr.kept.length) ctx.log.info({ kept: names(pr.kept) }, 'kept by annotation');
  return pr.deleted;
}

/** Deletes go out as many at once as applies do. */
const pruneContext = (ctx: SyncContext) => ({ ...ctx.deps, concurrency: ctx.deps.config.applyConcurrency });
