// Stage 3: write the changed objects of a phase (server-side apply, dependency order; an object
// that cannot change in place is deleted first); when the dry-run or the apply fails, say whether
// that is a verdict on the commit or a hiccup to retry.
import { applyObjects } from '../kube/apply.ts';
import { deleteAndWait } from '../kube/recreate.ts';
import { ApplySetError } from '../kube/set-error.ts';
import { refKey, refOf } from '../manifests/object.ts';
import { type Phase, phaseOf } from '../manifests/phase.ts';
import type { Failure, Recorder } from '../version/recorder.ts';
import type { SyncContext } from './context.ts';
import type { ManifestSet } from './manifests.ts';
import { kubeContext, type SyncPlan } from './plan.ts';

export async function applyPhase(ctx: SyncContext, rec: Recorder, p: SyncPlan, phase: Phase): Promise<void> {
  const objects = p.changed.filter((o) => phaseOf(o) === phase);
  if (objects.length === 0) return;
  const started = performance.now();
  const again = objects.filter((o) => p.recreate.has(refKey(refOf(o))));
  for (const o of again) {
    await rec.recreating(refOf(o));
    await deleteAndWait(kubeContext(ctx), o, ctx.deps.config.rolloutTimeoutSeconds * 1000);
  }
  await applyObjects(kubeContext(ctx), objects);
  ctx.log.debug({ ms: Math.round(performance.now() - started), phase }, 'apply requests done');
  ctx.log.info({ applied: objects.length, unchanged: ctx.result.unchanged, phase }, 'applied');
}

/** Where the set failed: its dry-run (before any write) or its apply. */
export type ApplyStage = 'DryRunRejected' | 'ApplyFailed';

/**
 * A failed dry-run or apply. A definite refusal gives every Deployment of the set its failed
 * outcome; anything else is tried again at the next poll and tells CI nothing yet.
 */
export function applyFailure(
  err: unknown,
  stage: ApplyStage,
  set: ManifestSet,
  deployments: readonly string[],
): Failure {
  const message = err instanceof ApplySetError ? located(err, set.where) : (err as Error).message;
  if (!definite(err)) return { reason: 'ApplyFailed', message };
  return { reason: stage, message, signal: deployments };
}

/**
 * The apiserver refused the set (invalid, forbidden, conflict, unknown kind): the same commit
 * fails the same way again. A network error, a timeout or a 5xx may not: retried, no signal.
 */
function definite(err: unknown): boolean {
  if (!(err instanceof ApplySetError)) return false;
  return err.failures.every((f) => f.status >= 400 && f.status < 500 && f.status !== 408 && f.status !== 429);
}

/** Plan/apply failures, each prefixed with the file and line of its object. */
function located(err: ApplySetError, where: ReadonlyMap<string, string>): string {
  return err.failures
    .map((f) => {
      // A failed LIST of a kind is reported as Kind/*: name the first file with that kind.
      const kind = `${f.object.slice(0, f.object.indexOf('/'))}/`;
      const at =
        where.get(f.object) ??
        (f.object.endsWith('/*') ? [...where].find(([k]) => k.startsWith(kind))?.[1] : undefined);
      const what = f.message.startsWith(`${f.object}: `) ? f.message : `${f.object}: ${f.message}`;
      return at ? `${at}: ${what}` : what;
    })
    .join('; ');
}
