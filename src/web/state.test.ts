import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Condition } from '../version/types.ts';
import { namespaceState, workloadState } from './state.ts';

const c = (type: Condition['type'], status: Condition['status'], reason: Condition['reason']): Condition => ({
  type,
  status,
  reason,
  message: `${type} ${reason}`,
  lastTransitionTime: '2025-03-01T10:00:00Z',
});

describe('namespaceState', () => {
  it('no Version conditions yet: Progressing, nothing decided', () => {
    assert.deepEqual(namespaceState(undefined), { state: 'Progressing', message: 'no outcome recorded yet' });
    assert.equal(namespaceState([c('SourceAvailable', 'True', 'Fetched')]).state, 'Progressing');
  });

  it('Suspended=True wins over every other condition', () => {
    const v = namespaceState([
      c('Ready', 'False', 'RolloutFailed'),
      c('Stalled', 'True', 'DryRunRejected'),
      c('Suspended', 'True', 'Suspended'),
    ]);
    assert.deepEqual(v, { state: 'Suspended', reason: 'Suspended', message: 'Suspended Suspended' });
  });

  it('Stalled=True (a refused head) is Failed, even while an older rollout is still Reconciling', () => {
    const v = namespaceState([
      c('Ready', 'False', 'DryRunRejected'),
      c('Reconciling', 'True', 'Progressing'),
      c('Stalled', 'True', 'DryRunRejected'),
    ]);
    assert.deepEqual(v, { state: 'Failed', reason: 'DryRunRejected', message: 'Stalled DryRunRejected' });
  });

  it('Reconciling=True is Progressing, though Ready still tells the previous outcome', () => {
    for (const ready of [c('Ready', 'True', 'Deployed'), c('Ready', 'False', 'RolloutFailed')])
      assert.equal(
        namespaceState([ready, c('Reconciling', 'True', 'Progressing'), c('Stalled', 'False', 'Applied')])
          .state,
        'Progressing',
      );
  });

  it('Ready=True with Reconciling=False is Ready', () => {
    const v = namespaceState([
      c('Ready', 'True', 'Deployed'),
      c('Reconciling', 'False', 'Deployed'),
      c('Stalled', 'False', 'Applied'),
    ]);
    assert.deepEqual(v, { state: 'Ready', reason: 'Deployed', message: 'Ready Deployed' });
  });

  it('Ready=False with a failure reason (rollout, post phase) is Failed; with a progress reason it is not', () => {
    for (const reason of ['RolloutFailed', 'RolloutTimeout', 'PostPhaseFailed'] as const)
      assert.equal(
        namespaceState([c('Ready', 'False', reason), c('Reconciling', 'False', 'RolloutFailed')]).state,
        'Failed',
      );
    assert.equal(namespaceState([c('Ready', 'False', 'Progressing')]).state, 'Progressing');
    assert.equal(namespaceState([c('Ready', 'Unknown', 'Applied')]).state, 'Progressing');
  });
});

describe('workloadState', () => {
  it('failed → Failed, healthyAt → Healthy, neither → Progressing', () => {
    assert.equal(workloadState({ sha: 'abc1234', failed: 'RolloutFailed: x', notified: true }), 'Failed');
    assert.equal(
      workloadState({ sha: 'abc1234', healthyAt: '2025-03-01T10:00:00Z', notified: false }),
      'Healthy',
    );
    assert.equal(workloadState({ sha: 'abc1234', notified: false }), 'Progressing');
  });
});
