import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setCondition } from './conditions.ts';
import type { Condition } from './types.ts';

/** A condition of type Ready (the type most tests set). */
const ready = (status: Condition['status'], reason: Condition['reason'], message: string) =>
  ({ type: 'Ready', status, reason, message }) as const;

const t1 = new Date('2025-03-01T10:00:00.123Z');
const t2 = new Date('2025-03-01T11:30:00.999Z');

describe('setCondition', () => {
  it('adds a condition with the time in seconds (metav1.Time)', () => {
    assert.deepEqual(setCondition(undefined, ready('True', 'Deployed', 'ok'), t1), [
      { ...ready('True', 'Deployed', 'ok'), lastTransitionTime: '2025-03-01T10:00:00Z' },
    ]);
  });

  it('keeps lastTransitionTime when the status is unchanged, updating reason and message', () => {
    const first = setCondition([], ready('False', 'Progressing', 'a'), t1);
    const next = setCondition(first, ready('False', 'RolloutFailed', 'b'), t2);
    assert.deepEqual(next, [
      { ...ready('False', 'RolloutFailed', 'b'), lastTransitionTime: '2025-03-01T10:00:00Z' },
    ]);
  });

  it('changes lastTransitionTime when the status changes', () => {
    const first = setCondition([], ready('False', 'Progressing', ''), t1);
    const next = setCondition(first, ready('True', 'Deployed', ''), t2);
    assert.equal(next.length, 1);
    assert.equal(next[0]?.status, 'True');
    assert.equal(next[0]?.lastTransitionTime, '2025-03-01T11:30:00Z');
  });

  it('leaves other conditions alone, keeps one per type, sorted by type, without mutating the input', () => {
    const list: Condition[] = [
      { ...ready('False', 'Applied', ''), type: 'Stalled', lastTransitionTime: '2020-01-01T00:00:00Z' },
      { ...ready('True', 'Deployed', ''), lastTransitionTime: '2020-01-02T00:00:00Z' },
    ];
    const copy = structuredClone(list);
    const next = setCondition(
      list,
      { type: 'Reconciling', status: 'True', reason: 'Progressing', message: '' },
      t1,
    );
    assert.deepEqual(
      next.map((c) => [c.type, c.lastTransitionTime]),
      [
        ['Ready', '2020-01-02T00:00:00Z'],
        ['Reconciling', '2025-03-01T10:00:00Z'],
        ['Stalled', '2020-01-01T00:00:00Z'],
      ],
    );
    assert.deepEqual(list, copy);
    const again = setCondition(
      next,
      { type: 'Stalled', status: 'True', reason: 'InvalidManifests', message: '' },
      t2,
    );
    assert.deepEqual(
      again.map((c) => [c.type, c.status, c.lastTransitionTime]),
      [
        ['Ready', 'True', '2020-01-02T00:00:00Z'],
        ['Reconciling', 'True', '2025-03-01T10:00:00Z'],
        ['Stalled', 'True', '2025-03-01T11:30:00Z'],
      ],
    );
  });

  it('defaults to the current time', () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const [c] = setCondition([], { type: 'Ready', status: 'Unknown', reason: 'Progressing', message: '' });
    const at = Date.parse(c?.lastTransitionTime ?? '');
    assert.match(c?.lastTransitionTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(at >= before && at <= Date.now(), c?.lastTransitionTime);
  });
});
