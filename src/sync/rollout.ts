// Stage 5: wait for the workloads of the applied set, deciding each Deployment's outcome the
// moment it is known (healthy, failed, timed out), then `deployed` or the rollout's failure.
import { waitForRollout } from '../health/wait.ts';
import type { ObjectRef } from '../manifests/object.ts';
import type { Commit } from '../source/git.ts';
import { short } from '../source/sha.ts';
import { type Outcome, waiting } from '../version/outcomes.ts';
import type { SyncFailureReason } from '../version/reasons.ts';
import type { Recorder } from '../version/recorder.ts';
import type { SyncContext } from './context.ts';

export interface RolloutTarget {
  commit: Commit;
  refs: readonly ObjectRef[];
  /** false: decide outcomes and `deployed` only; the conditions belong to a failed head. */
  conditions?: boolean;
  /** The set's Jobs (name → `name@applied-hash`): one seen Complete is recorded as run. */
  jobs?: ReadonlyMap<string, string>;
}

export interface Rollout {
  ready: boolean;
  error?: string;
  reason?: SyncFailureReason;
}

export async function awaitRollout(ctx: SyncContext, rec: Recorder, t: RolloutTarget): Promise<Rollout> {
  const { config, client, mapper } = ctx.deps;
  const conditions = t.conditions !== false;
  const sha7 = short(t.commit.sha);
  const deployments = t.refs.filter((r) => r.kind === 'Deployment').map((r) => r.name);
  const states = rec.status?.deployments ?? {};
  // Every Deployment of this sha already failed: only re-checked, not waited for again.
  const alreadyFailed =
    deployments.length > 0 && deployments.every((d) => states[d]?.sha === sha7 && states[d]?.failed);
  if (conditions && !(rec.version.deployed === sha7 && deployments.every((d) => states[d]?.healthyAt)))
    await rec.progressing(sha7);
  /** This sha and the older ones carried on with the same spec: one rollout decides them all. */
  const shasOf = (d: string) => {
    const st = rec.status?.deployments?.[d];
    return [sha7, ...(st?.sha === sha7 ? (st.also ?? []) : [])];
  };
  const completed: string[] = [];
  const wait = await waitForRollout({ client, mapper }, ctx.ns, t.refs, {
    timeoutMs: alreadyFailed ? 2_000 : config.rolloutTimeoutSeconds * 1000,
    signal: ctx.opts.signal,
    onReady: async (ref) => {
      if (ref.kind === 'Job') completed.push(ref.name);
      // Once per (deployment, sha): pairs decided before are skipped.
      if (ref.kind === 'Deployment' && (await rec.deploymentHealthy(ref.name, shasOf(ref.name))))
        ctx.log.info({ deployment: ref.name }, 'deployment healthy');
    },
  });
  if (t.jobs) await rec.jobsRan(t.jobs, completed); // even when another object failed
  if (wait.notReady.length === 0) {
    await rec.deployed(sha7, conditions);
    return { ready: true };
  }
  if (ctx.opts.signal?.aborted) return { ready: false };
  const reason = wait.timedOut ? 'RolloutTimeout' : 'RolloutFailed';
  const detail = wait.notReady.map((n) => n.reason).join('; ');
  const why = wait.timedOut
    ? `rollout not done after ${config.rolloutTimeoutSeconds} s: ${detail}`
    : `rollout failed: ${detail}`;
  const failed = wait.notReady.filter((n) => n.ref.kind === 'Deployment');
  await rec.deploymentsFailed(
    failed.flatMap((n) =>
      shasOf(n.ref.name).map((sha): Outcome => ({ deployment: n.ref.name, sha, reason, message: n.reason })),
    ),
  );
  if (!conditions) {
    await rec.commitFailed(sha7, reason, why);
    return { ready: false, error: why, reason };
  }
  await rec.rolloutFailed(sha7, reason, why);
  ctx.log.warn(why);
  return { ready: false, error: why, reason };
}

/**
 * After a failure at the head: Deployments still waiting at the applied sha are watched until
 * their rollout decides (the Version's conditions keep the head's error).
 */
export async function followApplied(ctx: SyncContext, rec: Recorder): Promise<void> {
  const status = rec.status;
  const applied = status?.commit;
  const states = Object.values(status?.deployments ?? {});
  if (!applied || !states.some((st) => waiting(st) && st.sha === short(applied))) return;
  const commit = { sha: applied, author: status?.author ?? '', message: status?.message ?? '' };
  // The pre and post objects are not the applied set's rollout: the inventory also holds the pre
  // objects of a head that failed (to prune them), a pre Deployment among them at the head's spec.
  // A Job that completed may be gone since (its TTL): never seen again, it is not waited for.
  const ran = new Set((status?.ranJobs ?? []).map((e) => e.slice(0, e.lastIndexOf('@'))));
  const refs = (status?.inventory ?? []).filter((r) => !r.phase && !(r.kind === 'Job' && ran.has(r.name)));
  await awaitRollout(ctx, rec, { commit, refs, conditions: false });
}
