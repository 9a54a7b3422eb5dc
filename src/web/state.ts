// The one-word states of the status page, derived from what the Recorder writes: a namespace's
// from its Version's conditions, a workload's from its status.deployments entry.
import type { ProgressReason } from '../version/reasons.ts';
import type { Condition, DeploymentState } from '../version/types.ts';

/** Unknown: the Version could not be read. */
export type NamespaceState = 'Ready' | 'Progressing' | 'Failed' | 'Suspended' | 'Unknown';
export type WorkloadState = 'Healthy' | 'Progressing' | 'Failed';

/** A state and the message of the condition that decided it. */
export interface Verdict {
  state: NamespaceState;
  reason?: string;
  message?: string;
}

/** Reasons that tell progress, never a failure (Ready=False with one of these is not Failed). */
const progress: readonly ProgressReason[] = [
  'Applied',
  'Pruned',
  'Progressing',
  'Deployed',
  'Fetched',
  'Suspended',
  'Resumed',
  'Recreated',
];

/**
 * In this order: Suspended=True; Stalled=True (the head was refused, or a pass failed: Failed);
 * Reconciling=True (a rollout is waited for — before Ready, which still tells the previous
 * commit's outcome until this one is decided); Ready=True; Ready=False with a failure reason (a
 * rollout or the post phase failed); else nothing decided yet: Progressing.
 */
export function namespaceState(conditions: readonly Condition[] | undefined): Verdict {
  const find = (type: Condition['type']) => conditions?.find((c) => c.type === type);
  const when = (type: Condition['type'], status: Condition['status']) => {
    const c = find(type);
    return c?.status === status ? c : undefined;
  };
  const of = (state: NamespaceState, c: Condition): Verdict => ({
    state,
    reason: c.reason,
    message: c.message,
  });
  const suspended = when('Suspended', 'True');
  if (suspended) return of('Suspended', suspended);
  const stalled = when('Stalled', 'True');
  if (stalled) return of('Failed', stalled);
  const reconciling = when('Reconciling', 'True');
  if (reconciling) return of('Progressing', reconciling);
  const ready = find('Ready');
  if (ready?.status === 'True') return of('Ready', ready);
  if (ready?.status === 'False' && !(progress as readonly string[]).includes(ready.reason))
    return of('Failed', ready);
  return { state: 'Progressing', message: 'no outcome recorded yet' };
}

/** Failed (its message) or healthy once decided; neither yet: still rolling out. */
export function workloadState(d: DeploymentState): WorkloadState {
  if (d.failed) return 'Failed';
  return d.healthyAt ? 'Healthy' : 'Progressing';
}
