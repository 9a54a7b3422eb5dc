// The pre and post phases: objects annotated `phase: pre` are applied and waited for (a migration
// Job to Complete) before anything else of the set; `post` ones after the rollout is healthy.
import { failedPodMessage } from '../health/pods.ts';
import { waitForRollout } from '../health/wait.ts';
import type { Failure, Recorder } from '../version/recorder.ts';
import { applyFailure, applyPhase } from './apply.ts';
import type { SyncContext } from './context.ts';
import type { ManifestSet } from './manifests.ts';
import { deploymentHashes, type SyncPlan } from './plan.ts';

/** The end of a phase's wait: done, stopped (shutdown, newer commit) or an error to report. */
type PhaseWait =
  | { done: true }
  | { done: false; stopped: true }
  | { done: false; stopped: false; error: string };

/**
 * Applies the pre objects and waits for them. A failed or timed-out pre object is a verdict on
 * the commit: nothing else of the set is applied and every Deployment gets its failed outcome.
 */
export async function prePhase(
  ctx: SyncContext,
  rec: Recorder,
  p: SyncPlan,
  set: ManifestSet,
): Promise<Failure | 'stopped' | undefined> {
  if (ctx.opts.signal?.aborted) return 'stopped';
  if (p.phases.pre.length === 0) return undefined;
  const deployments = [...(ctx.deployments ?? deploymentHashes(set.objects)).keys()];
  // Failed before at this commit: not run again, even if a migration that timed out completed since.
  const before = rec.status?.preFailed;
  if (before?.sha === ctx.sha7)
    return { reason: 'PrePhaseFailed', message: before.message, signal: deployments };
  // Into the inventory before they are written: if git drops them, they are pruned even when this
  // commit never gets past its pre phase.
  await rec.preApplied(p.phases.pre);
  try {
    await applyPhase(ctx, rec, p, 'pre');
  } catch (err) {
    return applyFailure(err, 'ApplyFailed', set, deployments);
  }
  const w = await awaitPhase(ctx, rec, p, 'pre');
  if (w.done) return ctx.opts.signal?.aborted ? 'stopped' : undefined;
  return w.stopped ? 'stopped' : { reason: 'PrePhaseFailed', message: w.error, signal: deployments };
}

/**
 * Applies the post objects once the rollout is healthy (and waits for them unless the pass does
 * not wait). Their failure is recorded on the Version; the Deployments' outcomes are already told.
 */
export async function postPhase(ctx: SyncContext, rec: Recorder, p: SyncPlan): Promise<string | undefined> {
  if (p.phases.post.length === 0) return undefined;
  let error: string | undefined;
  try {
    await applyPhase(ctx, rec, p, 'post');
    if (ctx.opts.wait !== false) {
      const w = await awaitPhase(ctx, rec, p, 'post');
      if (!w.done && !w.stopped) error = w.error;
    }
  } catch (err) {
    error = `post phase: ${(err as Error).message}`;
  }
  if (error) await rec.postFailed(ctx.sha7, error);
  return error;
}

/** Waits for the phase's objects; each Job seen Complete is recorded as run. */
async function awaitPhase(
  ctx: SyncContext,
  rec: Recorder,
  p: SyncPlan,
  phase: 'pre' | 'post',
): Promise<PhaseWait> {
  const { client, mapper, config } = ctx.deps;
  const refs = p.phases[phase];
  // A newer commit does not end the pre phase's wait (a migration is never abandoned mid-run, nor
  // recreated under it by the next pass); a shutdown does.
  const signal = phase === 'pre' ? ctx.opts.shutdown : ctx.opts.signal;
  const ran: string[] = [];
  const wait = await waitForRollout({ client, mapper }, ctx.ns, refs, {
    timeoutMs: config.rolloutTimeoutSeconds * 1000,
    signal,
    onReady: (ref) => {
      if (ref.kind === 'Job') ran.push(ref.name);
    },
  });
  await rec.jobsRan(p.jobs, ran); // each completed Job, even when another object of the phase failed
  if (wait.notReady.length === 0) return { done: true };
  if (signal?.aborted) return { done: false, stopped: true };
  const details = await Promise.all(
    wait.notReady.map(async (n) => {
      const pod =
        n.ref.kind === 'Job' && n.failed ? await failedPodMessage(client, ctx.ns, n.ref.name) : undefined;
      return pod ? `${n.reason}; ${pod}` : n.reason;
    }),
  );
  const error = wait.timedOut
    ? `${phase} phase not done after ${config.rolloutTimeoutSeconds} s: ${details.join('; ')}`
    : `${phase} phase failed: ${details.join('; ')}`;
  ctx.log.warn({ phase }, error);
  return { done: false, stopped: false, error };
}
