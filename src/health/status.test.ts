import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Health, health, workloadKinds } from './status.ts';

type Status = Record<string, unknown>;
type Cond = { type: string; status: string; reason?: string; message?: string };

const workload = (
  kind: string,
  spec: Record<string, unknown>,
  status: Status | undefined,
  generation = 2,
) => ({
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
  it('knows the four workload kinds', () => {
    assert.deepEqual([...workloadKinds].sort(), ['DaemonSet', 'Deployment', 'Job', 'StatefulSet']);
  });

  it('other kinds are Ready as soon as they exist', () => {
    assert.deepEqual(
      health({ kind: 'Service', metadata: { name: 's' }, status: { observedGeneration: 0 } }),
      {
        state: 'Ready',
      },
    );
  });

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
});
