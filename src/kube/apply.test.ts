import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stageOf } from './apply.ts';

describe('stageOf', () => {
  // The test's own spec of the order (alphabetical here; the module lists them by dependency).
  const first =
    'ConfigMap LimitRange NetworkPolicy PersistentVolumeClaim ResourceQuota Role RoleBinding Secret ServiceAccount'.split(
      ' ',
    );
  const middle = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Service', 'Certificate'];
  const last = ['HorizontalPodAutoscaler', 'Ingress', 'PodDisruptionBudget', 'VerticalPodAutoscaler'];

  it('puts what workloads depend on first', () => {
    for (const k of first) assert.equal(stageOf(k), 0, k);
  });
  it('puts workloads, services and unknown kinds in the middle', () => {
    for (const k of middle) assert.equal(stageOf(k), 1, k);
  });
  it('puts what points at workloads last', () => {
    for (const k of last) assert.equal(stageOf(k), 2, k);
  });
  it('orders a mixed set as the design says', () => {
    const kinds = [
      'HorizontalPodAutoscaler',
      'Deployment',
      'Ingress',
      'Service',
      'ConfigMap',
      'Secret',
      'ServiceAccount',
    ];
    const ordered = [...kinds].sort((a, b) => stageOf(a) - stageOf(b));
    assert.deepEqual(ordered, [
      'ConfigMap',
      'Secret',
      'ServiceAccount',
      'Deployment',
      'Service',
      'HorizontalPodAutoscaler',
      'Ingress',
    ]);
  });
  it('is case-sensitive, as kinds are', () => {
    assert.equal(stageOf('configmap'), 1);
  });
});
