import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommitEvent, Sink } from '../notify/sink.ts';
import { commitsLimit, fullSha, supersededBy, tellCommits } from './commits.ts';
import type { VersionStatus } from './types.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

/** A sink that renders every commit event as `sha7:state`. */
const recorder: Sink = {
  name: 'rec',
  renderCommit: (e: CommitEvent) => ({ key: `${e.sha.slice(0, 7)}:${e.state}`, body: e.description }),
  send: async () => {},
};
const target = { namespace: 'web', sinks: [recorder] };

/** Applies a patch to a status the way the store merges it (arrays replace). */
const apply = (s: VersionStatus, p: ReturnType<typeof tellCommits>): VersionStatus =>
  p ? { ...s, ...p } : s;

describe('what the sinks are told of a commit', () => {
  it('each (sha, state) once, pending before a final state, nothing after one', () => {
    let s: VersionStatus = {};
    s = apply(s, tellCommits(s, target, [{ sha: A, state: 'pending', description: 'applied' }]));
    assert.equal(tellCommits(s, target, [{ sha: A, state: 'pending', description: 'again' }]), undefined);
    s = apply(s, tellCommits(s, target, [{ sha: A, state: 'success', description: 'healthy' }]));
    for (const state of ['pending', 'success', 'failure', 'superseded'] as const)
      assert.equal(tellCommits(s, target, [{ sha: A, state, description: 'late' }]), undefined, state);
    assert.deepEqual(
      s.pending?.map((d) => d.key),
      ['aaaaaaa:pending', 'aaaaaaa:success'],
    );
    assert.deepEqual(s.commits, [{ sha: A, state: 'success' }]);
  });

  it('a final state may come without a pending one (a commit refused before its apply)', () => {
    const p = tellCommits({}, target, [{ sha: B, state: 'failure', description: 'DryRunRejected: x' }]);
    assert.deepEqual(p?.commits, [{ sha: B, state: 'failure' }]);
    assert.equal(p?.pending[0]?.body, 'DryRunRejected: x');
  });

  it('adds to the queue it is given (a patch built before it in the same write)', () => {
    const before = [{ key: 'cluster/web/api/aaaaaaa', body: 't' }];
    const p = tellCommits({ pending: [] }, target, [{ sha: A, state: 'pending', description: 'x' }], before);
    assert.deepEqual(
      p?.pending.map((d) => d.key),
      ['cluster/web/api/aaaaaaa', 'aaaaaaa:pending'],
    );
  });

  it('remembers the newest commits only', () => {
    let s: VersionStatus = {};
    for (let i = 0; i < commitsLimit + 5; i++)
      s = apply(
        s,
        tellCommits(s, target, [
          { sha: i.toString(16).padStart(40, '0'), state: 'pending', description: '' },
        ]),
      );
    assert.equal(s.commits?.length, commitsLimit);
    assert.equal(s.commits?.at(-1)?.sha, (commitsLimit + 4).toString(16).padStart(40, '0'));
  });

  it('a newer head applied supersedes the commits still pending and those overtaken before their apply', () => {
    const s: VersionStatus = {
      commits: [
        { sha: A, state: 'pending' },
        { sha: B, state: 'success' },
      ],
      overtaken: [{ sha: C.slice(0, 7), deployments: { api: 'h' }, commit: C }],
    };
    const news = supersededBy(s, 'd'.repeat(40), true);
    assert.deepEqual(
      news.map((n) => [n.sha, n.state, n.description]),
      [
        [A, 'superseded', 'Superseded by ddddddd before it became healthy'],
        [C, 'superseded', 'Superseded by ddddddd before it was applied'],
      ],
    );
    // A head that failed for good did not replace the rollout under way: only the overtaken go.
    assert.deepEqual(
      supersededBy(s, 'd'.repeat(40), false).map((n) => n.sha),
      [C],
    );
  });

  it('finds the full sha of a short one from what the Version knows', () => {
    const s: VersionStatus = { commit: B, commits: [{ sha: A, state: 'pending' }] };
    assert.equal(fullSha(s, 'aaaaaaa'), A);
    assert.equal(fullSha(s, 'bbbbbbb'), B);
    assert.equal(fullSha(s, 'ccccccc'), undefined);
  });
});
