// One sync pass of one namespace at one commit, as a sequence of stages: manifests → plan → pre
// phase → apply → record applied → prune → deliver → rollout → post phase → deliver. Every
// outcome is recorded by the Recorder; a failure at any stage ends the pass through `failed`.
import { failpoint } from '../failpoint.ts';
import type { Commit } from '../source/git.ts';
import { redact } from '../source/redact.ts';
import type { Failure, Recorder } from '../version/recorder.ts';
import { applyFailure, applyPhase } from './apply.ts';
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
import { postPhase, prePhase } from './phases.ts';
import { deploymentHashes, planSet, type SyncPlan } from './plan.ts';
import { pruneStale, pruneWouldDelete } from './prune.ts';
import { awaitRollout, followApplied, type Rollout } from './rollout.ts';

export type { Deps, ReconcileOptions, ReconcileResult } from './context.ts';

export async function reconcile(
  deps: Deps,
  ns: string,
  commit: Commit,
  opts: ReconcileOptions = {},
): Promise<ReconcileResult> {
  const ctx = syncContext(deps, ns, commit, opts);
  const manifests = prepared(deps, ns, commit.sha); // read from git while the Version is fetched
  const { recorder: rec, inventory, ranJobs } = await openRecorder(ctx);
  if (rec?.isSuspended) return suspended(ctx, rec, manifests);
  await rec?.resumed(ctx.sha7);
  const set = await manifests;
  if ('error' in set) return failed(ctx, rec, manifestFailure(set.error, inventory));
  ctx.log.debug({ ms: set.ms, objects: set.objects.length }, 'manifests loaded');
  failpoint('after-fetch', ns);
  const hashes = deploymentHashes(set.objects);
  ctx.deployments = hashes;
  const deployments = [...hashes.keys()];
  let p: SyncPlan;
  try {
    p = await planSet(ctx, set, inventory, ranJobs);
    if (!rec) return { ...ctx.result, ok: true, pruned: await pruneWouldDelete(ctx, p.stale) }; // dry run
  } catch (err) {
    return failed(ctx, rec, applyFailure(err, 'DryRunRejected', set, deployments));
  }
  const pre = await prePhase(ctx, rec, p, set);
  if (pre === 'stopped') {
    await rec.overtaken(ctx.commit, hashes); // decided when another head is applied or fails
    return { ...ctx.result, error: 'stopped before applying' };
  }
  if (pre) return failed(ctx, rec, pre);
  try {
    await applyPhase(ctx, rec, p, 'main');
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
  if (opts.wait === false) return withPost(ctx, rec, p, { ready: false });
  // A pre Deployment is settled; waiting on it again decides its outcome (a pre Job may be gone).
  const preDeployments = p.phases.pre.filter((r) => r.kind === 'Deployment');
  opts.waiting?.();
  const rollout = await awaitRollout(ctx, rec, {
    commit,
    refs: [...preDeployments, ...p.phases.main],
    jobs: p.jobs,
  });
  return withPost(ctx, rec, p, rollout);
}

/** The post phase after a healthy rollout (or a pass that does not wait), then the last deliveries. */
async function withPost(
  ctx: SyncContext,
  rec: Recorder,
  p: SyncPlan,
  rollout: Rollout,
): Promise<ReconcileResult> {
  const waited = ctx.opts.wait !== false;
  const postError = rollout.ready || !waited ? await postPhase(ctx, rec, p) : undefined;
  const pending = waited ? await deliver(ctx, rec) : undefined;
  const error = rollout.error
    ? { error: rollout.error, reason: rollout.reason }
    : postError
      ? { error: postError, reason: 'PostPhaseFailed' as const }
      : {};
  const ok = (rollout.ready || !waited) && !postError;
  return { ...ctx.result, ok, ...(waited ? { ready: rollout.ready, pending } : {}), ...error };
}

/**
 * A suspended namespace: nothing applied, pruned or repaired; the live rollout is still watched and
 * what is owed to the sinks still goes out.
 */
async function suspended(
  ctx: SyncContext,
  rec: Recorder,
  manifests: ReturnType<typeof prepared>,
): Promise<ReconcileResult> {
  await rec.suspended(ctx.sha7);
  // The head is not taken up: once another head is applied (or fails for good), it rides on that
  // rollout (same spec) or is superseded. Files that do not parse name the Deployments CI could
  // wait on (of no spec: superseded).
  const set = await manifests;
  const invalid = 'error' in set ? manifestFailure(set.error, rec.status?.inventory ?? []).signal : undefined;
  if (!('error' in set)) await rec.overtaken(ctx.commit, deploymentHashes(set.objects));
  else if (invalid) await rec.overtaken(ctx.commit, new Map(invalid.map((d) => [d, ''])));
  ctx.log.info('suspended: nothing applied');
  // Watching changes nothing: a rollout under way when the namespace was suspended still decides.
  ctx.opts.waiting?.();
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
  // A transient failure is no verdict: if a newer head comes before a retry applies this commit,
  // it is decided as one overtaken before its apply.
  if (!f.signal && ctx.deployments) await rec.overtaken(ctx.commit, ctx.deployments);
  await deliverOnTheWay(ctx, rec);
  ctx.opts.waiting?.();
  if (ctx.opts.wait !== false) await followApplied(ctx, rec);
  const pending = await deliver(ctx, rec);
  return { ...ctx.result, error, reason: f.reason, pending };
}
