import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { historyLimit, historyNotified, historyStep, historyWith } from './history.ts';
import type { HistoryEntry } from './types.ts';

const commit = (n: number) => ({
  sha: `${String(n).repeat(7)}0000`,
  author: 'A <a@x>',
  message: `commit ${n}`,
  committedAt: '2026-01-01T00:00:00Z',
  seenAt: '2026-01-01T00:00:02Z',
});

describe('history', () => {
  it('a new applied commit supersedes the one still in progress; times are set once', () => {
    const one = historyWith(undefined, commit(1), { appliedAt: 't1' }) ?? [];
    assert.deepEqual(one[0], {
      sha: '11111110000',
      subject: 'commit 1',
      author: 'A <a@x>',
      committedAt: '2026-01-01T00:00:00Z',
      seenAt: '2026-01-01T00:00:02Z',
      result: 'Progressing',
      appliedAt: 't1',
    });
    assert.equal(historyWith(one, commit(1), { appliedAt: 't9' }), undefined, 'appliedAt set twice');
    const two = historyWith(one, commit(2), { appliedAt: 't2' }) ?? [];
    assert.deepEqual(
      two.map((e) => [e.result, e.reason]),
      [
        ['Superseded', 'Superseded by 2222222'],
        ['Progressing', undefined],
      ],
    );
  });

  it('a commit refused before applying supersedes nothing; a final result stays final', () => {
    const one = historyWith(undefined, commit(1), { appliedAt: 't1' });
    const failed =
      historyWith(one, commit(2), { result: 'Failed', reason: 'InvalidManifests: x' }, false) ?? [];
    assert.deepEqual(
      failed.map((e) => e.result),
      ['Progressing', 'Failed'],
    );
    const healthy = historyStep(failed, '1111111', { healthyAt: 't3', result: 'Deployed' }) ?? [];
    assert.equal(healthy[0]?.result, 'Deployed');
    assert.equal(historyStep(healthy, '1111111', { result: 'Failed', reason: 'late' }), undefined);
  });

  it('notifiedAt is the time the latest S3 file of the commit went out', () => {
    const h = historyWith(undefined, commit(1), {});
    const key = (d: string, sha = '1111111') => `c/ns/${d}/${sha}`;
    const first = historyNotified(h, [key('api')], 't1');
    assert.equal(first?.[0]?.notifiedAt, 't1');
    assert.equal(historyNotified(first, [`${key('web')}.failed`], 't2')?.[0]?.notifiedAt, 't2');
    assert.equal(historyNotified(first, [key('api', '9999999')], 't3'), undefined, 'another commit');
  });

  it(`keeps the last ${historyLimit}`, () => {
    let h: HistoryEntry[] | undefined;
    for (let i = 1; i <= historyLimit + 2; i++)
      h = historyWith(h, { ...commit(i % 10), sha: `${i}`.padEnd(11, 'f') }, {});
    assert.equal(h?.length, historyLimit);
    assert.equal(h?.at(-1)?.sha, '12'.padEnd(11, 'f'));
  });
});
