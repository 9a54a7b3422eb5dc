// Rollout status of one object, from its status fields alone (after kstatus, sigs.k8s.io/cli-utils
// pkg/kstatus, and `kubectl rollout status`).
//
// - Deployment, StatefulSet, DaemonSet, ReplicaSet: the controller has observed the current
//   generation and every replica is updated, ready and available.
// - Job: Complete; Failed is Failed. Pod: Succeeded, or Running and Ready; phase Failed is Failed.
// - PersistentVolumeClaim: Bound (Pending stays in progress: a claim that never binds is a
//   RolloutTimeout naming it; Lost is Failed — its volume is gone and nothing brings it back).
// - Kinds with no rollout (`noRollout`: ConfigMap, Service, HPA…) are never waited for.
// - Every other kind — custom resources, kinds this file does not know — by kstatus's generic rules:
//   no status at all is Ready (a CRD whose controller must be waited for defaults
//   `status.observedGeneration` to -1, as Flux's do since fluxcd/kustomize-controller#387); a
//   `status.observedGeneration` below `metadata.generation` is in progress; `Reconciling=True` is in
//   progress; then the `Ready` condition (else `Available`) decides: True is Ready, False or Unknown
//   in progress; no such condition is Ready.
//   Failed, for these kinds, is only `Stalled=True` (kstatus's convention: the controller says
//   retrying cannot help) or `Failed=True` (the Job-like convention). `Ready=False` is in progress
//   whatever its reason: controllers retry (Flux sets Ready=False/…Failed at every retry and Stalled
//   only when it gives up; cert-manager is Ready=False while it issues), so failing on it would fail
//   rollouts that succeed a moment later; a timeout still names the object and its Ready message.
//   A condition carrying an `observedGeneration` below the object's generation is stale: it fails
//   nothing, and a stale Ready is in progress.
// Kinds are told apart by API group too: a Knative `serving.knative.dev` Service is waited for by
// the generic rules, a core Service is not.
// An object being deleted (deletionTimestamp) is judged by its status like any other (kstatus says
// Terminating): a Complete Job that its TTL deletes, foreground, stays Complete (wait.ts decides
// what a deletion while waiting means).

export type Health =
  | { state: 'Ready' }
  | { state: 'InProgress'; reason: string }
  | { state: 'Failed'; reason: string };

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

interface Observed {
  apiVersion?: string;
  kind: string;
  metadata: { name: string; generation?: number };
  spec?: { replicas?: number; updateStrategy?: { type?: string } };
  status?: Record<string, unknown> & { observedGeneration?: number; conditions?: Condition[] };
}

type Status = NonNullable<Observed['status']>;
type Rule = (obj: Observed, s: Status, name: string) => Health;

/** `group/Kind` ('' for the core group): how rules and the no-rollout set name a kind. */
export function kindKey(apiVersion: string | undefined, kind: string): string {
  const v = apiVersion ?? '';
  return `${v.includes('/') ? v.slice(0, v.indexOf('/')) : ''}/${kind}`;
}

/** Kinds that are Current once they exist (kstatus agrees or has no better rule): never waited for. */
export const noRollout: ReadonlySet<string> = new Set([
  '/ConfigMap',
  '/Secret',
  '/ServiceAccount',
  '/Service',
  '/Endpoints',
  '/LimitRange',
  '/ResourceQuota',
  '/PodTemplate',
  'apps/ControllerRevision',
  'batch/CronJob',
  'autoscaling/HorizontalPodAutoscaler',
  'policy/PodDisruptionBudget',
  'networking.k8s.io/Ingress',
  'networking.k8s.io/NetworkPolicy',
  'discovery.k8s.io/EndpointSlice',
  'rbac.authorization.k8s.io/Role',
  'rbac.authorization.k8s.io/RoleBinding',
  'coordination.k8s.io/Lease',
]);

/** Whether a rollout waits for this object: everything but the no-rollout kinds. */
export function waitsFor(ref: { apiVersion: string; kind: string }): boolean {
  return !noRollout.has(kindKey(ref.apiVersion, ref.kind));
}

const n = (v: unknown): number => (typeof v === 'number' ? v : 0);

const condition = (s: Status, type: string) => s.conditions?.find((c) => c.type === type);

const inProgress = (reason: string): Health => ({ state: 'InProgress', reason });

const said = (c: Condition): string => [c.reason, c.message].filter(Boolean).join(': ');

export function health(obj: Observed): Health {
  const s = obj.status ?? {};
  const name = `${obj.kind}/${obj.metadata.name}`;
  const rule = byKind.get(kindKey(obj.apiVersion, obj.kind));
  return rule ? rule(obj, s, name) : generic(obj, s, name);
}

/** A controller that has not seen the current spec yet: nothing else in the status is about it. */
function notObserved(obj: Observed, s: Status, name: string): Health | undefined {
  if ((s.observedGeneration ?? -1) >= (obj.metadata.generation ?? 0)) return undefined;
  return inProgress(`${name}: controller has not observed generation ${obj.metadata.generation} yet`);
}

/** Workload controllers always write observedGeneration: a missing one is not observed yet. */
const observing =
  (rule: Rule): Rule =>
  (obj, s, name) =>
    notObserved(obj, s, name) ?? rule(obj, s, name);

function deploymentHealth(obj: Observed, s: Status, name: string): Health {
  const want = obj.spec?.replicas ?? 1;
  const progressing = condition(s, 'Progressing');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
    return {
      state: 'Failed',
      reason: `${name}: progress deadline exceeded: ${progressing.message ?? ''}`.trim(),
    };
  }
  const updated = n(s.updatedReplicas);
  const ready = n(s.readyReplicas);
  const available = n(s.availableReplicas);
  const total = n(s.replicas);
  if (updated === want && ready === want && available === want && total === want) return { state: 'Ready' };
  return inProgress(
    `${name}: ${updated}/${want} updated, ${ready}/${want} ready, ${available}/${want} available${total > want ? `, ${total - want} old pending termination` : ''}`,
  );
}

function statefulSetHealth(obj: Observed, s: Status, name: string): Health {
  const want = obj.spec?.replicas ?? 1;
  const ready = n(s.readyReplicas);
  const updated = n(s.updatedReplicas);
  const rolling = (obj.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
  const revisionDone = !rolling || s.currentRevision === s.updateRevision;
  if (
    ready === want &&
    n(s.availableReplicas ?? ready) === want &&
    (!rolling || updated === want) &&
    revisionDone
  ) {
    return { state: 'Ready' };
  }
  return inProgress(`${name}: ${updated}/${want} updated, ${ready}/${want} ready`);
}

function daemonSetHealth(_obj: Observed, s: Status, name: string): Health {
  const want = n(s.desiredNumberScheduled);
  const updated = n(s.updatedNumberScheduled);
  const ready = n(s.numberReady);
  const available = n(s.numberAvailable);
  if (updated === want && ready === want && available === want) return { state: 'Ready' };
  return inProgress(`${name}: ${updated}/${want} updated, ${ready}/${want} ready`);
}

function replicaSetHealth(obj: Observed, s: Status, name: string): Health {
  const want = obj.spec?.replicas ?? 1;
  const ready = n(s.readyReplicas);
  const available = n(s.availableReplicas);
  if (ready === want && available === want && n(s.replicas) === want) return { state: 'Ready' };
  return inProgress(`${name}: ${ready}/${want} ready, ${available}/${want} available`);
}

function jobHealth(_obj: Observed, s: Status, name: string): Health {
  const failed = condition(s, 'Failed');
  if (failed?.status === 'True')
    return {
      state: 'Failed',
      reason: `${name}: failed: ${failed.reason ?? ''} ${failed.message ?? ''}`.trim(),
    };
  if (condition(s, 'Complete')?.status === 'True') return { state: 'Ready' };
  return inProgress(`${name}: ${n(s.succeeded)} succeeded, ${n(s.active)} active`);
}

function podHealth(_obj: Observed, s: Status, name: string): Health {
  const phase = typeof s.phase === 'string' ? s.phase : 'Pending';
  if (phase === 'Succeeded') return { state: 'Ready' };
  if (phase === 'Failed')
    return {
      state: 'Failed',
      reason: `${name}: failed: ${[s.reason, s.message].filter(Boolean).join(': ')}`,
    };
  if (phase === 'Running' && condition(s, 'Ready')?.status === 'True') return { state: 'Ready' };
  return inProgress(`${name}: ${phase}, not ready`);
}

function claimHealth(_obj: Observed, s: Status, name: string): Health {
  const phase = typeof s.phase === 'string' ? s.phase : 'Pending';
  if (phase === 'Bound') return { state: 'Ready' };
  if (phase === 'Lost') return { state: 'Failed', reason: `${name}: Lost (its volume is gone)` };
  return inProgress(`${name}: ${phase}, not bound to a volume yet`);
}

/** kstatus's generic rules, for custom resources and every kind without its own rule. */
function generic(obj: Observed, s: Status, name: string): Health {
  const gen = obj.metadata.generation;
  if (s.observedGeneration !== undefined && gen !== undefined && s.observedGeneration < gen)
    return inProgress(`${name}: controller has not observed generation ${gen} yet`);
  const stale = (c: Condition) =>
    c.observedGeneration !== undefined && gen !== undefined && c.observedGeneration < gen;
  const current = (type: string) => {
    const c = condition(s, type);
    return c && !stale(c) && c.status === 'True' ? c : undefined;
  };
  const failed = current('Stalled') ?? current('Failed');
  if (failed)
    return { state: 'Failed', reason: `${name}: ${failed.type}: ${said(failed)}`.replace(/: $/, '') };
  const reconciling = current('Reconciling');
  if (reconciling) return inProgress(`${name}: Reconciling: ${said(reconciling)}`.replace(/: $/, ''));
  const ready = condition(s, 'Ready') ?? condition(s, 'Available');
  if (!ready) return { state: 'Ready' };
  if (stale(ready))
    return inProgress(`${name}: ${ready.type} is of generation ${ready.observedGeneration}, not ${gen} yet`);
  if (ready.status === 'True') return { state: 'Ready' };
  return inProgress(`${name}: ${ready.type}=${ready.status}${said(ready) ? `: ${said(ready)}` : ''}`);
}

/** The kinds with their own rule; any other kind by the generic rules. */
const byKind = new Map<string, Rule>([
  ['apps/Deployment', observing(deploymentHealth)],
  ['apps/StatefulSet', observing(statefulSetHealth)],
  ['apps/DaemonSet', observing(daemonSetHealth)],
  ['apps/ReplicaSet', observing(replicaSetHealth)],
  // A Job's controller writes no observedGeneration.
  ['batch/Job', jobHealth],
  ['/Pod', podHealth],
  ['/PersistentVolumeClaim', claimHealth],
]);
