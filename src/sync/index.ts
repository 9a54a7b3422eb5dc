// One sync pass of one namespace at one commit, as a sequence of stages: manifests → plan →
// apply → record applied → prune → deliver → rollout → deliver. Every outcome is recorded by the
// Recorder; a failure at any stage ends the pass through `failed`.
import { failpoint } from '../failpoint.ts';
import type { Commit } from '../source/git.ts';
import { redact } from '../source/redact.ts';
import type { Failure, Recorder } from '../version/recorder.ts';
import { applyFailure, applySet } from './apply.ts';
import {
  type Deps,
  openRecorder,
  type ReconcileOptions,
  type ReconcileResult,
  type SyncContext,
  syncContext,
} from './context.ts';
import { deliver, deliverOnTheWay } from './deliver.ts';
import { manifestFailure, prepared } from './manifests.ts';
import { deploymentHashes, planSet, type SyncPlan } from './plan.ts';
import { pruneStale, pruneWouldDelete } from './prune.ts';
import { awaitRollout, followApplied } from './rollout.ts';

export type { Deps, ReconcileOptions, ReconcileResult } from './context.ts';

export async function reconcile(
  deps: Deps,
  ns: string,
  commit: Commit,
  opts: ReconcileOptions = {},
): Promise<ReconcileResult> {
  const ctx = syncContext(deps, ns, commit, opts);
  const manifests = prepared(deps, ns, commit.sha); // read from git while the Version is fetched
  const { recorder: rec, inventory } = await openRecorder(ctx);
  if (rec?.isSuspended) return suspended(ctx, rec);
  await rec?.resumed(ctx.sha7);
  const set = await manifests;
  if ('error' in set) return failed(ctx, rec, manifestFailure(set.error, inventory));
  ctx.log.debug({ ms: set.ms, objects: set.objects.length }, 'manifests loaded');
  failpoint('after-fetch', ns);
  const hashes = deploymentHashes(set.objects);
  const deployments = [...hashes.keys()];
  let p: SyncPlan;
  try {
    p = await planSet(ctx, set, inventory);
    if (!rec) return { ...ctx.result, ok: true, pruned: await pruneWouldDelete(ctx, p.stale) }; // dry run
  } catch (err) {
    return failed(ctx, rec, applyFailure(err, 'DryRunRejected', set, deployments));
  }
  if (opts.signal?.aborted) return { ...ctx.result, error: 'stopped before applying' };
  try {
    await applySet(ctx, p);
  } catch (err) {
    return failed(ctx, rec, applyFailure(err, 'ApplyFailed', set, deployments));
  }
  failpoint('after-apply', ns);
  await rec.applied({
    commit,
    changed: p.changed.length,
    refs: p.refs,
    stale: p.stale,
    deployments: hashes,
  });
  ctx.result.applied = true;
  try {
    ctx.result.pruned = await pruneStale(ctx, p.stale);
  } catch (err) {
    return failed(ctx, rec, { reason: 'PruneFailed', message: (err as Error).message });
  }
  if (p.stale.length) await rec.pruned(ctx.result.pruned, p.refs);
  await deliverOnTheWay(ctx, rec); // superseded files (and any left by an earlier pass) first
  if (opts.wait === false) return { ...ctx.result, ok: true };
  const rollout = await awaitRollout(ctx, rec, { commit, refs: p.refs });
  const pending = await deliver(ctx, rec);
  return { ...ctx.result, ok: rollout.ready, ready: rollout.ready, ...errorOf(rollout), pending };
}

const errorOf = (r: { error?: string; reason?: ReconcileResult['reason'] }) =>
  r.error ? { error: r.error, reason: r.reason } : {};

/**
 * A suspended namespace: nothing applied, pruned or repaired; the live rollout is still watched and
 * what is owed to the sinks still goes out.
 */
async function suspended(ctx: SyncContext, rec: Recorder): Promise<ReconcileResult> {
  await rec.suspended(ctx.sha7);
  ctx.log.info('suspended: nothing applied');
  // Watching changes nothing: a rollout under way when the namespace was suspended still decides.
  if (ctx.opts.wait !== false) await followApplied(ctx, rec);
  const pending = await deliver(ctx, rec);
  return { ...ctx.result, ok: true, suspended: true, pending };
}

/**
 * Ends a pass that failed. The cluster still runs the last applied set, so its rollout still
 * decides that sha's outcomes; the failure's own files go out first, not after that wait.
 */
async function failed(ctx: SyncContext, rec: Recorder | undefined, f: Failure): Promise<ReconcileResult> {
  const error = redact(f.message);
  ctx.log.error({ reason: f.reason }, error);
  if (!rec) return { ...ctx.result, error, reason: f.reason };
  await rec.failed(ctx.commit, f);
  await deliverOnTheWay(ctx, rec);
  if (ctx.opts.wait !== false) await followApplied(ctx, rec);
  const pending = await deliver(ctx, rec);
  return { ...ctx.result, error, reason: f.reason, pending };
}
