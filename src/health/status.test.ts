import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Health, health, kindKey, noRollout, waitsFor } from './status.ts';

type Status = Record<string, unknown>;
type Cond = { type: string; status: string; reason?: string; message?: string };

const workload = (
  kind: string,
  spec: Record<string, unknown>,
  status: Status | undefined,
  generation = 2,
) => ({
  apiVersion: 'apps/v1',
  kind,
  metadata: { name: 'web', generation },
  spec,
  ...(status ? { status: { observedGeneration: 2, ...status } } : {}),
});

function inProgress(h: Health, re: RegExp): void {
  assert.equal(h.state, 'InProgress');
  assert.ok(h.state === 'InProgress');
  assert.match(h.reason, re);
}

describe('health', () => {
  describe('Deployment', () => {
    const full = { replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 };
    it('Ready when updated = ready = available = replicas = desired at the current generation', () => {
      assert.deepEqual(health(workload('Deployment', { replicas: 3 }, full)), { state: 'Ready' });
    });
    it('in progress while the controller has not seen the new generation', () => {
      inProgress(
        health(workload('Deployment', { replicas: 3 }, { ...full, observedGeneration: 1 })),
        /^Deployment\/web: controller has not observed generation 2 yet$/,
      );
    });
    it('in progress without any status', () => {
      inProgress(health(workload('Deployment', { replicas: 3 }, undefined)), /generation 2/);
    });
    it('in progress while replicas are being updated', () => {
      inProgress(
        health(
          workload('Deployment', { replicas: 3 }, { ...full, updatedReplicas: 1, availableReplicas: 2 }),
        ),
        /^Deployment\/web: 1\/3 updated, 3\/3 ready, 2\/3 available$/,
      );
    });
    it('in progress while old pods are terminating', () => {
      inProgress(
        health(workload('Deployment', { replicas: 3 }, { ...full, replicas: 4 })),
        /1 old pending termination/,
      );
    });
    it('desired replicas default to 1', () => {
      const one = { replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 };
      assert.equal(health(workload('Deployment', {}, one)).state, 'Ready');
      inProgress(health(workload('Deployment', {}, full)), /3\/1 updated/);
    });
    it('scaled to zero is Ready with empty counts', () => {
      assert.equal(health(workload('Deployment', { replicas: 0 }, {})).state, 'Ready');
    });
    it('ProgressDeadlineExceeded is Failed, with the message', () => {
      const conditions: Cond[] = [
        { type: 'Available', status: 'True' },
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: 'ReplicaSet "web-5d9" has timed out progressing.',
        },
      ];
      const h = health(workload('Deployment', { replicas: 3 }, { ...full, updatedReplicas: 1, conditions }));
      assert.deepEqual(h, {
        state: 'Failed',
        reason: 'Deployment/web: progress deadline exceeded: ReplicaSet "web-5d9" has timed out progressing.',
      });
    });
    it('an old ProgressDeadlineExceeded does not fail a generation not yet observed', () => {
      const conditions: Cond[] = [
        { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' },
      ];
      inProgress(
        health(workload('Deployment', { replicas: 3 }, { observedGeneration: 1, conditions })),
        /generation 2/,
      );
    });
    it('Progressing=False for another reason is not a failure', () => {
      const conditions: Cond[] = [{ type: 'Progressing', status: 'False', reason: 'Paused' }];
      assert.equal(health(workload('Deployment', { replicas: 3 }, { ...full, conditions })).state, 'Ready');
    });
  });

  describe('StatefulSet', () => {
    const full = {
      replicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
      updatedReplicas: 2,
      currentRevision: 'web-2',
      updateRevision: 'web-2',
    };
    it('Ready when all replicas are ready and updated to the current revision', () => {
      assert.deepEqual(health(workload('StatefulSet', { replicas: 2 }, full)), { state: 'Ready' });
    });
    it('availableReplicas missing (older servers) falls back to ready', () => {
      const { availableReplicas: _a, ...rest } = full;
      assert.equal(health(workload('StatefulSet', { replicas: 2 }, rest)).state, 'Ready');
    });
    it('in progress with an old generation', () => {
      inProgress(
        health(workload('StatefulSet', { replicas: 2 }, { ...full, observedGeneration: 1 })),
        /StatefulSet\/web: controller has not observed generation 2/,
      );
    });
    it('in progress while pods are updated', () => {
      inProgress(
        health(workload('StatefulSet', { replicas: 2 }, { ...full, updatedReplicas: 1, readyReplicas: 1 })),
        /^StatefulSet\/web: 1\/2 updated, 1\/2 ready$/,
      );
    });
    it('in progress while updatedReplicas lags, even with all pods ready', () => {
      inProgress(
        health(workload('StatefulSet', { replicas: 2 }, { ...full, updatedReplicas: 1 })),
        /^StatefulSet\/web: 1\/2 updated, 2\/2 ready$/,
      );
    });
    it('in progress until the current revision is the update revision', () => {
      inProgress(
        health(workload('StatefulSet', { replicas: 2 }, { ...full, currentRevision: 'web-1' })),
        /2\/2 updated, 2\/2 ready/,
      );
    });
    it('OnDelete does not wait for updates', () => {
      const s = { ...full, updatedReplicas: 0, currentRevision: 'web-1' };
      assert.equal(
        health(workload('StatefulSet', { replicas: 2, updateStrategy: { type: 'OnDelete' } }, s)).state,
        'Ready',
      );
    });
  });

  describe('DaemonSet', () => {
    const full = { desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberReady: 3, numberAvailable: 3 };
    it('Ready when every scheduled pod is updated, ready and available', () => {
      assert.deepEqual(health(workload('DaemonSet', {}, full)), { state: 'Ready' });
    });
    it('in progress with an old generation', () => {
      inProgress(health(workload('DaemonSet', {}, { ...full, observedGeneration: 1 })), /generation 2/);
    });
    it('in progress while pods are updated', () => {
      inProgress(
        health(workload('DaemonSet', {}, { ...full, updatedNumberScheduled: 2 })),
        /^DaemonSet\/web: 2\/3 updated, 3\/3 ready$/,
      );
      inProgress(health(workload('DaemonSet', {}, { ...full, numberAvailable: 1 })), /3\/3 updated/);
    });
    it('no node to run on is Ready', () => {
      assert.equal(health(workload('DaemonSet', {}, { desiredNumberScheduled: 0 })).state, 'Ready');
    });
  });

  describe('Job', () => {
    const job = (status: Status | undefined) => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'migrate', generation: 1 },
      ...(status ? { status } : {}),
    });
    it('Complete is Ready (Jobs have no observedGeneration)', () => {
      assert.deepEqual(health(job({ succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] })), {
        state: 'Ready',
      });
    });
    it('Failed is Failed, with reason and message', () => {
      const conditions: Cond[] = [
        {
          type: 'Failed',
          status: 'True',
          reason: 'BackoffLimitExceeded',
          message: 'Job has reached the specified backoff limit',
        },
      ];
      assert.deepEqual(health(job({ failed: 7, conditions })), {
        state: 'Failed',
        reason: 'Job/migrate: failed: BackoffLimitExceeded Job has reached the specified backoff limit',
      });
    });
    it('running is in progress', () => {
      inProgress(health(job({ active: 1 })), /^Job\/migrate: 0 succeeded, 1 active$/);
      inProgress(health(job(undefined)), /0 succeeded, 0 active/);
    });
    it('conditions that are not True do not count', () => {
      inProgress(
        health(
          job({
            active: 1,
            conditions: [
              { type: 'Failed', status: 'False' },
              { type: 'Complete', status: 'False' },
            ],
          }),
        ),
        /1 active/,
      );
    });
  });
  describe('which objects a rollout waits for', () => {
    it('kinds are named by API group and kind', () => {
      assert.equal(kindKey('v1', 'Pod'), '/Pod');
      assert.equal(kindKey('apps/v1', 'Deployment'), 'apps/Deployment');
      assert.equal(kindKey(undefined, 'Thing'), '/Thing');
    });
    it('workloads, claims, pods, custom resources and unknown kinds are waited for', () => {
      for (const [apiVersion, kind] of [
        ['apps/v1', 'Deployment'],
        ['apps/v1', 'StatefulSet'],
        ['apps/v1', 'DaemonSet'],
        ['apps/v1', 'ReplicaSet'],
        ['batch/v1', 'Job'],
        ['v1', 'PersistentVolumeClaim'],
        ['v1', 'Pod'],
        ['example.com/v1', 'Widget'],
        ['serving.knative.dev/v1', 'Service'], // a Knative Service has a rollout; a core one does not
        ['v1', 'SomethingNew'],
      ] as const)
        assert.ok(waitsFor({ apiVersion, kind }), `${apiVersion} ${kind} not waited for`);
    });
    it('kinds with no rollout are not waited for', () => {
      for (const [apiVersion, kind] of [
        ['v1', 'ConfigMap'],
        ['v1', 'Secret'],
        ['v1', 'Service'],
        ['v1', 'ServiceAccount'],
        ['batch/v1', 'CronJob'],
        ['autoscaling/v2', 'HorizontalPodAutoscaler'],
        ['policy/v1', 'PodDisruptionBudget'],
        ['networking.k8s.io/v1', 'Ingress'],
        ['networking.k8s.io/v1', 'NetworkPolicy'],
        ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
      ] as const)
        assert.ok(!waitsFor({ apiVersion, kind }), `${apiVersion} ${kind} waited for`);
      assert.ok([...noRollout].every((k) => k.includes('/')));
    });
  });

  describe('ReplicaSet', () => {
    const rs = (status: Status) => workload('ReplicaSet', { replicas: 2 }, status);
    it('Ready when every replica is ready and available', () => {
      assert.deepEqual(health(rs({ replicas: 2, readyReplicas: 2, availableReplicas: 2 })), {
        state: 'Ready',
      });
    });
    it('in progress otherwise, and while its generation is not observed', () => {
      inProgress(
        health(rs({ replicas: 2, readyReplicas: 1, availableReplicas: 1 })),
        /^ReplicaSet\/web: 1\/2 ready, 1\/2 available$/,
      );
      inProgress(health(workload('ReplicaSet', { replicas: 2 }, undefined)), /generation 2/);
    });
  });

  describe('Pod', () => {
    const pod = (status?: Status) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      ...(status ? { status } : {}),
    });
    it('Running and Ready, or Succeeded, is Ready', () => {
      const conditions: Cond[] = [{ type: 'Ready', status: 'True' }];
      assert.equal(health(pod({ phase: 'Running', conditions })).state, 'Ready');
      assert.equal(
        health(pod({ phase: 'Succeeded', conditions: [{ type: 'Ready', status: 'False' }] })).state,
        'Ready',
      );
    });
    it('Pending, or Running but not ready, is in progress', () => {
      inProgress(health(pod({ phase: 'Pending' })), /^Pod\/p: Pending, not ready$/);
      inProgress(health(pod()), /Pending/);
      inProgress(
        health(pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] })),
        /Running/,
      );
    });
    it('phase Failed is Failed', () => {
      assert.deepEqual(health(pod({ phase: 'Failed', reason: 'Evicted', message: 'low on memory' })), {
        state: 'Failed',
        reason: 'Pod/p: failed: Evicted: low on memory',
      });
    });
  });

  describe('PersistentVolumeClaim', () => {
    const pvc = (status?: Status) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data' },
      ...(status ? { status } : {}),
    });
    it('Bound is Ready', () => {
      assert.deepEqual(health(pvc({ phase: 'Bound' })), { state: 'Ready' });
    });
    it('Pending (no volume, or WaitForFirstConsumer) is in progress, named', () => {
      inProgress(
        health(pvc({ phase: 'Pending' })),
        /^PersistentVolumeClaim\/data: Pending, not bound to a volume yet$/,
      );
      inProgress(health(pvc()), /Pending/);
    });
    it('Lost is Failed', () => {
      assert.deepEqual(health(pvc({ phase: 'Lost' })), {
        state: 'Failed',
        reason: 'PersistentVolumeClaim/data: Lost (its volume is gone)',
      });
    });
  });

  describe('custom resources and other kinds: the generic rules', () => {
    const cr = (status?: Status, more: Record<string, unknown> = {}) => ({
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w', generation: 3, ...more },
      ...(status ? { status } : {}),
    });
    const cond = (
      type: string,
      status: string,
      more: Partial<Cond> & { observedGeneration?: number } = {},
    ) => ({
      type,
      status,
      ...more,
    });
    it('no status at all is Ready at once', () => {
      assert.deepEqual(health(cr()), { state: 'Ready' });
      assert.deepEqual(health(cr({})), { state: 'Ready' });
    });
    it('observedGeneration below the generation is in progress (a CRD default of -1 waits for the controller)', () => {
      inProgress(
        health(cr({ observedGeneration: -1 })),
        /^Widget\/w: controller has not observed generation 3 yet$/,
      );
      inProgress(health(cr({ observedGeneration: 2, conditions: [cond('Ready', 'True')] })), /generation 3/);
    });
    it('the current generation observed, without Ready or Available, is Ready', () => {
      assert.deepEqual(health(cr({ observedGeneration: 3 })), { state: 'Ready' });
      assert.deepEqual(health(cr({ observedGeneration: 3, conditions: [cond('Synced', 'False')] })), {
        state: 'Ready',
      });
    });
    it('Ready=True is Ready; Ready=False or Unknown is in progress with its reason, whatever the reason', () => {
      assert.deepEqual(health(cr({ conditions: [cond('Ready', 'True')] })), { state: 'Ready' });
      inProgress(
        health(
          cr({
            observedGeneration: 3,
            conditions: [cond('Ready', 'False', { reason: 'InstallFailed', message: 'chart not found' })],
          }),
        ),
        /^Widget\/w: Ready=False: InstallFailed: chart not found$/,
      );
      inProgress(health(cr({ conditions: [cond('Ready', 'Unknown')] })), /^Widget\/w: Ready=Unknown$/);
    });
    it('Available decides when there is no Ready; Ready wins over it', () => {
      assert.deepEqual(health(cr({ conditions: [cond('Available', 'True')] })), { state: 'Ready' });
      inProgress(
        health(cr({ conditions: [cond('Available', 'False', { reason: 'NoEndpoints' })] })),
        /Available=False: NoEndpoints/,
      );
      assert.deepEqual(health(cr({ conditions: [cond('Available', 'False'), cond('Ready', 'True')] })), {
        state: 'Ready',
      });
    });
    it('Stalled=True or Failed=True is Failed, with reason and message', () => {
      const stalled = cond('Stalled', 'True', { reason: 'InstallFailed', message: 'chart not found' });
      assert.deepEqual(health(cr({ observedGeneration: 3, conditions: [cond('Ready', 'False'), stalled] })), {
        state: 'Failed',
        reason: 'Widget/w: Stalled: InstallFailed: chart not found',
      });
      assert.deepEqual(health(cr({ conditions: [cond('Failed', 'True')] })), {
        state: 'Failed',
        reason: 'Widget/w: Failed',
      });
      assert.deepEqual(health(cr({ conditions: [cond('Stalled', 'False'), cond('Failed', 'False')] })), {
        state: 'Ready',
      });
    });
    it('Reconciling=True is in progress, even with Ready=True', () => {
      inProgress(
        health(
          cr({ conditions: [cond('Ready', 'True'), cond('Reconciling', 'True', { reason: 'Progressing' })] }),
        ),
        /^Widget\/w: Reconciling: Progressing$/,
      );
    });
    it('a condition of an older generation is stale: it fails nothing, and a stale Ready is in progress', () => {
      inProgress(
        health(cr({ conditions: [cond('Ready', 'True', { observedGeneration: 2 })] })),
        /^Widget\/w: Ready is of generation 2, not 3 yet$/,
      );
      inProgress(
        health(
          cr({
            conditions: [
              cond('Stalled', 'True', { observedGeneration: 2 }),
              cond('Ready', 'False', { observedGeneration: 2 }),
            ],
          }),
        ),
        /generation 2, not 3/,
      );
      assert.deepEqual(health(cr({ conditions: [cond('Ready', 'True', { observedGeneration: 3 })] })), {
        state: 'Ready',
      });
    });
    it('an object being deleted is judged by its status (a Complete Job deleted by its TTL stays Complete)', () => {
      assert.deepEqual(
        health(cr({ conditions: [cond('Ready', 'True')] }, { deletionTimestamp: '2026-01-01T00:00:00Z' })),
        {
          state: 'Ready',
        },
      );
    });
    it('a kind named like a built-in one in another group follows the generic rules', () => {
      assert.deepEqual(
        health({ apiVersion: 'example.com/v1', kind: 'Job', metadata: { name: 'j' }, status: {} }),
        {
          state: 'Ready',
        },
      );
      inProgress(
        health({
          apiVersion: 'serving.knative.dev/v1',
          kind: 'Service',
          metadata: { name: 'web', generation: 2 },
          status: {
            observedGeneration: 2,
            conditions: [cond('Ready', 'Unknown', { reason: 'RevisionMissing' })],
          },
        }),
        /^Service\/web: Ready=Unknown: RevisionMissing$/,
      );
    });
  });
});
