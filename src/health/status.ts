// Rollout status of one workload, from its status fields alone (after kstatus / kubectl rollout status).

export type Health =
  | { state: 'Ready' }
  | { state: 'InProgress'; reason: string }
  | { state: 'Failed'; reason: string };

export const workloadKinds = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);

interface Workload {
  kind: string;
  metadata: { name: string; generation?: number };
  spec?: { replicas?: number; updateStrategy?: { type?: string } };
  status?: Record<string, unknown> & {
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

type Status = NonNullable<Workload['status']>;

const n = (v: unknown): number => (typeof v === 'number' ? v : 0);

const condition = (s: Status, type: string) => s.conditions?.find((c) => c.type === type);

export function health(obj: Workload): Health {
  const s = obj.status ?? {};
  const name = `${obj.kind}/${obj.metadata.name}`;
  if (obj.kind !== 'Job' && (s.observedGeneration ?? -1) < (obj.metadata.generation ?? 0)) {
    return {
      state: 'InProgress',
      reason: `${name}: controller has not observed generation ${obj.metadata.generation} yet`,
    };
  }
  const ofKind = byKind.get(obj.kind);
  return ofKind ? ofKind(obj, s, name) : { state: 'Ready' };
}

function deploymentHealth(obj: Workload, s: Status, name: string): Health {
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
  return {
    state: 'InProgress',
    reason: `${name}: ${updated}/${want} updated, ${ready}/${want} ready, ${available}/${want} available${total > want ? `, ${total - want} old pending termination` : ''}`,
  };
}

function statefulSetHealth(obj: Workload, s: Status, name: string): Health {
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
  return { state: 'InProgress', reason: `${name}: ${updated}/${want} updated, ${ready}/${want} ready` };
}

function daemonSetHealth(_obj: Workload, s: Status, name: string): Health {
  const want = n(s.desiredNumberScheduled);
  const updated = n(s.updatedNumberScheduled);
  const ready = n(s.numberReady);
  const available = n(s.numberAvailable);
  if (updated === want && ready === want && available === want) return { state: 'Ready' };
  return { state: 'InProgress', reason: `${name}: ${updated}/${want} updated, ${ready}/${want} ready` };
}

function jobHealth(_obj: Workload, s: Status, name: string): Health {
  const failed = condition(s, 'Failed');
  if (failed?.status === 'True')
    return {
      state: 'Failed',
      reason: `${name}: failed: ${failed.reason ?? ''} ${failed.message ?? ''}`.trim(),
    };
  if (condition(s, 'Complete')?.status === 'True') return { state: 'Ready' };
  return { state: 'InProgress', reason: `${name}: ${n(s.succeeded)} succeeded, ${n(s.active)} active` };
}

/** One check per workload kind; any other kind is Ready once applied. */
const byKind = new Map<string, (obj: Workload, s: Status, name: string) => Health>([
  ['Deployment', deploymentHealth],
  ['StatefulSet', statefulSetHealth],
  ['DaemonSet', daemonSetHealth],
  ['Job', jobHealth],
]);
