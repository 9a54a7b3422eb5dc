// Stage 2: what the set would change — the whole-set server-side dry-run (a rejected object fails
// the set before anything is written), the objects to prune, and the Deployments to roll out.
import { hashAnnotation } from '../kube/labels.ts';
import { type PlanContext, plan } from '../kube/plan.ts';
import { type KubeObject, type ObjectRef, refKey, refOf } from '../manifests/object.ts';
import { type Phase, phaseOf } from '../manifests/phase.ts';
import type { SyncContext } from './context.ts';
import type { ManifestSet } from './manifests.ts';

export interface SyncPlan {
  /** The objects to write (the dry-run differs from the live object). */
  changed: KubeObject[];
  /** refKeys of changed objects to delete and create again (immutable change, opted in). */
  recreate: Set<string>;
  /** The set's objects by phase (the annotation), to wait for: pre first, post last. */
  phases: Record<Phase, ObjectRef[]>;
  /** The set's Jobs: name → `name@applied-hash` (recorded once seen Complete: status.ranJobs). */
  jobs: Map<string, string>;
  /** Every object of the set, as the inventory records it. */
  refs: ObjectRef[];
  /** Objects of the last inventory that git no longer has. */
  stale: ObjectRef[];
}

/**
 * The kube side of a pass. No abort signal: a shutdown or a newer commit never cuts a write in
 * half; they stop the pass between stages and end the rollout wait instead.
 */
export function kubeContext(ctx: SyncContext): PlanContext {
  const { client, mapper, config } = ctx.deps;
  return {
    client,
    mapper,
    namespace: ctx.ns,
    concurrency: config.applyConcurrency,
    force: config.forceConflicts,
  };
}

/** Throws ApplySetError when the apiserver refuses an object of the set. */
export async function planSet(
  ctx: SyncContext,
  set: ManifestSet,
  inventory: readonly ObjectRef[],
  ranJobs: readonly string[] = [],
): Promise<SyncPlan> {
  const { objects } = set;
  const refs = objects.map(phasedRef);
  const current = new Set(refs.map(refKey));
  const started = performance.now();
  const p = await plan(kubeContext(ctx), objects, new Set(ranJobs));
  // listMs: the reads a plan needs (one LIST per kind); the rest is dry-runs and comparing.
  const ms = Math.round(performance.now() - started);
  ctx.log.debug({ ms, listMs: p.listMs, changed: p.changed.length }, 'planned');
  ctx.result.changed = p.changed.map(refOf);
  ctx.result.unchanged = p.unchanged.length;
  const phases: Record<Phase, ObjectRef[]> = { pre: [], main: [], post: [] };
  const jobs = new Map<string, string>();
  for (const [i, o] of objects.entries()) {
    const ref = refs[i] as ObjectRef;
    if (o.kind === 'Job')
      jobs.set(o.metadata.name, `${o.metadata.name}@${o.metadata.annotations?.[hashAnnotation]}`);
    // A Job that ran at this spec and is gone since is not waited for: it will not come back.
    if (!p.ranAndGone.has(refKey(ref))) phases[phaseOf(o)].push(ref);
  }
  return {
    changed: p.changed,
    recreate: p.recreate,
    phases,
    jobs,
    refs,
    stale: inventory.filter((r) => !current.has(refKey(r))),
  };
}

/** The object's ref, with its phase when it has one. */
function phasedRef(o: KubeObject): ObjectRef {
  const phase = phaseOf(o);
  return phase === 'main' ? refOf(o) : { ...refOf(o), phase };
}

/** Deployment name → applied-hash: what rolls out at this commit, and who CI may wait on. */
export function deploymentHashes(objects: readonly KubeObject[]): Map<string, string> {
  return new Map(
    objects
      .filter((o) => o.kind === 'Deployment')
      .map((o) => [o.metadata.name, o.metadata.annotations?.[hashAnnotation] ?? ''] as const),
  );
}
