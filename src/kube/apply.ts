// Applies the changed objects in dependency order, with bounded concurrency per stage.
import { failpoint } from '../failpoint.ts';
import type { KubeObject } from '../manifests/object.ts';
import type { PlanContext } from './plan.ts';
import { settleLimit } from './pool.ts';
import { setError } from './set-error.ts';
import { serverSideApply } from './ssa.ts';

/** Kinds others depend on go first; kinds that point at workloads go last. */
const firstKinds = new Set([
  'ServiceAccount',
  'ConfigMap',
  'Secret',
  'Role',
  'RoleBinding',
  'PersistentVolumeClaim',
  'LimitRange',
  'ResourceQuota',
  'NetworkPolicy',
]);
const lastKinds = new Set([
  'HorizontalPodAutoscaler',
  'Ingress',
  'PodDisruptionBudget',
  'VerticalPodAutoscaler',
]);

export function stageOf(kind: string): number {
  return firstKinds.has(kind) ? 0 : lastKinds.has(kind) ? 2 : 1;
}

/** Applies stage by stage; a failing stage stops the later ones (they may depend on it). */
export async function applyObjects(ctx: PlanContext, objects: readonly KubeObject[]): Promise<KubeObject[]> {
  const applied: KubeObject[] = [];
  for (const stage of [0, 1, 2]) {
    const batch = objects.filter((o) => stageOf(o.kind) === stage);
    const { results, errors } = await settleLimit(batch, ctx.concurrency, (o) =>
      serverSideApply(ctx.client, ctx.mapper, o, { dryRun: false, force: ctx.force }),
    );
    for (const r of results) if (r) applied.push(r);
    if (errors.length > 0) throw setError(errors);
    failpoint('mid-apply', ctx.namespace); // a test knob: killed after the first stage
  }
  return applied;
}
